/** Settings resolved once: flags, then the environment, then the config file, then the defaults; applied to an image chain. */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { applySettings, DEFAULT_DEBIAN_BASE_TEMPLATE, Image, resolveSettings } from "../src/index.js";

function folderWithConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "imagespec-settings-"));
  writeFileSync(path.join(dir, "imagespec.config.mjs"), `export default ${JSON.stringify(config)};\n`);
  return dir;
}

describe("resolveSettings", () => {
  const cwd = folderWithConfig({ registry: "config.example.com/team", builder: "noop", debianBaseImage: "config.example.com/python:{python_version}" });

  it("takes the config file when the environment says nothing, and never writes process.env", async () => {
    const before = { ...process.env };
    const settings = await resolveSettings({ cwd, env: {} });
    expect(settings).toMatchObject({ registry: "config.example.com/team", builder: "noop", debianBaseImage: "config.example.com/python:{python_version}" });
    expect(settings.configFile).toBe(path.join(cwd, "imagespec.config.mjs"));
    expect(process.env).toEqual(before);
  });

  it("the environment wins over the config, and a flag over both", async () => {
    const env = { IMAGESPEC_REGISTRY: "env.example.com/x", IMAGESPEC_BUILDER: "docker", IMAGESPEC_DEBIAN_BASE_IMAGE: "env.example.com/py:{python_version}" };
    expect(await resolveSettings({ cwd, env })).toMatchObject({
      registry: "env.example.com/x",
      builder: "docker",
      debianBaseImage: "env.example.com/py:{python_version}",
    });
    expect((await resolveSettings({ cwd, env, flags: { builder: "envd" } })).builder).toBe("envd");
  });

  it("defaults without a config file", async () => {
    const settings = await resolveSettings({ cwd, configFile: false, env: {} });
    expect(settings).toMatchObject({ registry: undefined, builder: undefined, debianBaseImage: DEFAULT_DEBIAN_BASE_TEMPLATE, configFile: undefined });
  });

  it("a bad registry or Debian template from the environment is a CONFIG_ERROR naming the variable", async () => {
    await expect(resolveSettings({ cwd, env: { IMAGESPEC_REGISTRY: "https://ghcr.io/acme" } })).rejects.toMatchObject({
      code: "CONFIG_ERROR",
      field: "IMAGESPEC_REGISTRY",
    });
    await expect(resolveSettings({ cwd, env: { IMAGESPEC_DEBIAN_BASE_IMAGE: "Not A Reference {python_version}" } })).rejects.toMatchObject({
      code: "CONFIG_ERROR",
      field: "IMAGESPEC_DEBIAN_BASE_IMAGE",
    });
  });
});

describe("applySettings", () => {
  const settings = { registry: "127.0.0.1:5000/team", debianBaseImage: "mirror.example.com/python:{python_version}-slim" };

  it("gives images and their Image bases the registry and the Debian base, once for a shared base", async () => {
    const base = Image.fromDebianBase({ name: "base", pythonVersion: "3.11", root: "/tmp" });
    const app = Image.fromBase(base, { name: "app", root: "/tmp" });
    const cache = new WeakMap();
    const [a, b] = [applySettings(app, settings, cache), applySettings(base, settings, cache)];
    expect(a.registry).toBe("127.0.0.1:5000/team");
    expect(a.base.type === "image" && a.base.image).toBe(b);
    expect(b.base).toEqual({ type: "debian", pythonVersion: "3.11", uri: "mirror.example.com/python:3.11-slim" });
    expect(await a.uri()).not.toBe(await app.clone({ registry: "127.0.0.1:5000/team" }).uri());
  });

  it("keeps an image's own registry, and returns the same image when nothing changes", () => {
    const own = Image.fromBase("python:3.12-slim", { name: "own", registry: "ghcr.io/acme", root: "/tmp" });
    expect(applySettings(own, settings)).toBe(own);
  });
});
