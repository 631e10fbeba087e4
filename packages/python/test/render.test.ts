import { Image } from "@imagespec/core";
import { createDockerBuilder } from "@imagespec/builder-docker";
import { beforeAll, describe, expect, it } from "vitest";
import { fromUvScript, withPoetryProject, withUvProject } from "../src/index.js";
import { FIXTURES } from "./support/project.js";
import path from "node:path";

const builder = createDockerBuilder();
async function dockerfile(image: Image): Promise<string> {
  return (await builder.render!(image, { identity: await image.identity(), baseUri: undefined, config: {} })).content;
}
beforeAll(() => {
  process.env.IMAGESPEC_DEBIAN_BASE_IMAGE = "127.0.0.1:5000/imagespec/python:{python_version}-slim-bookworm";
});
describe("smoke", () => {
  it("prints", async () => {
    const uv = path.join(FIXTURES, "uv-project");
    console.log(await dockerfile(withUvProject(Image.fromDebianBase({ root: uv, pythonVersion: "3.11" }), { installMode: "project" })));
    console.log(await dockerfile(withUvProject(Image.fromDebianBase({ root: uv, pythonVersion: "3.11" }), { installer: "pip", installMode: "project" })));
    const img = withPoetryProject(Image.fromDebianBase({ root: path.join(FIXTURES, "poetry-project"), pythonVersion: "3.11" }), { installMode: "project" });
    console.log(await dockerfile(img));
    console.log((await img.identity()).inputs.map((i) => i.name));
  });
});
