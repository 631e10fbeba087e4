import { describe, expect, it } from "vitest";
import { compareEnvdVersions, isSupportedEnvdVersion, parseEnvdVersion } from "../src/index.js";

describe("envd version parsing", () => {
  it("reads the version line of `envd version`", () => {
    const output =
      "envd: v0.3.45\nBuildDate: 2024-03-13T09:03:52Z\nGitCommit: 4b1c2a3\nGitTreeState: clean\nGitTag: v0.3.45\nGoVersion: go1.21.8\nCompiler: gc\nPlatform: linux/amd64\n";
    expect(parseEnvdVersion(output)).toEqual({ major: 0, minor: 3, patch: 45, prerelease: undefined, text: "v0.3.45" });
  });

  it("reads pre-releases, build metadata and unlabelled versions", () => {
    expect(parseEnvdVersion("envd: v0.3.40-rc.2+abc123")).toMatchObject({ patch: 40, prerelease: "rc.2", text: "v0.3.40-rc.2+abc123" });
    expect(parseEnvdVersion("envd version 1.0.0")).toMatchObject({ major: 1, minor: 0, patch: 0 });
    expect(parseEnvdVersion("some banner\nclient v0.3.41 (linux)\n")).toMatchObject({ minor: 3, patch: 41 });
  });

  it("finds nothing in output without a version", () => {
    expect(parseEnvdVersion("")).toBeUndefined();
    expect(parseEnvdVersion("command not understood")).toBeUndefined();
    expect(parseEnvdVersion("Platform: linux/amd64 go1.21")).toBeUndefined();
  });

  it("orders versions as semver does", () => {
    const v = (text: string) => parseEnvdVersion(`envd: ${text}`)!;
    const sorted = ["v0.3.38", "v0.3.39-alpha.1", "v0.3.39-alpha.10", "v0.3.39-beta", "v0.3.39", "v0.3.40", "v0.10.0", "v1.0.0"];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort((a, b) => compareEnvdVersions(v(a), v(b)))).toEqual(sorted);
    expect(compareEnvdVersions(v("v0.3.39+build.1"), v("v0.3.39"))).toBe(0);
  });

  it("supports envd 0.3.39 and newer, nothing older, no pre-release of 0.3.39", () => {
    const supported = (text: string) => isSupportedEnvdVersion(parseEnvdVersion(`envd: ${text}`)!);
    expect(supported("v0.3.39")).toBe(true);
    expect(supported("v0.3.45")).toBe(true);
    expect(supported("v1.0.0")).toBe(true);
    expect(supported("v0.3.38")).toBe(false);
    expect(supported("v0.3.37")).toBe(false);
    expect(supported("v0.2.99")).toBe(false);
    expect(supported("v0.3.39-rc.1")).toBe(false);
  });
});
