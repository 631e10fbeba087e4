/**
 * The seed for two platforms: QEMU arm64 emulation registered with binfmt_misc (and shown by `status`), and the seed
 * published as one index of linux/amd64 and linux/arm64, read by skopeo, whose arm64 image runs arm64 Python.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { docker, inspectRaw, skopeo, testEnv } from "../src/index.js";

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../scripts/test-env");

describe("arm64 emulation", () => {
  it("is registered with binfmt_misc, fixed (F) so that it works inside containers, and `status` says so", async () => {
    const entry = readFileSync("/proc/sys/fs/binfmt_misc/qemu-aarch64", "utf8");
    expect(entry).toMatch(/^enabled\n/);
    expect(entry).toMatch(/^flags: .*F/m);
    const status = await execa("bash", [script, "status"], { reject: false });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^qemu \(arm64\): +registered, binfmt_misc qemu-aarch64 -> \/\S+$/m);
    expect(status.stdout).toMatch(/^seed in registry: sha256:[0-9a-f]{64}, an index of linux\/amd64,linux\/arm64$/m);
  });
});

describe("the seed index", () => {
  it("is one Docker manifest list of linux/amd64 and linux/arm64 under the seed's name, with the advertised digest", async () => {
    const { baseImage, baseImageDigest } = testEnv();
    const raw = await inspectRaw(baseImage);
    expect(raw.mediaType).toBe("application/vnd.docker.distribution.manifest.list.v2+json");
    expect(raw.manifests?.map((m) => `${m.platform?.os}/${m.platform?.architecture}`)).toEqual(["linux/amd64", "linux/arm64"]);
    // skopeo resolves it per platform as a pull would.
    expect(
      JSON.parse(await skopeo(["inspect", "--tls-verify=false", "--override-arch", "arm64", "--override-os", "linux", `docker://${baseImage}`])).Architecture,
    ).toBe("arm64");
    // The variable is the tag's digest: the index's.
    const head = await fetch(`http://${testEnv().registry}/v2/imagespec/python/manifests/3.11-slim-bookworm`, {
      method: "HEAD",
      headers: { accept: "application/vnd.docker.distribution.manifest.list.v2+json" },
    });
    expect(head.headers.get("docker-content-digest")).toBe(baseImageDigest);
  });

  it("keeps the amd64 image as the local seed, which the index's amd64 entry is", async () => {
    const { baseImage } = testEnv();
    expect(await docker(["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", baseImage])).toBe("linux/amd64");
    const raw = await inspectRaw(baseImage);
    const amd64 = raw.manifests?.find((m) => m.platform?.architecture === "amd64");
    const repoDigests = JSON.parse(await docker(["image", "inspect", "--format", "{{json .RepoDigests}}", baseImage])) as string[];
    // Pulled once through the index, so the local image records it (older test-env scripts check this before pushing).
    expect(repoDigests).toContain(`${testEnv().registry}/imagespec/python@${testEnv().baseImageDigest}`);
    const pushedAs = await fetch(`http://${testEnv().registry}/v2/imagespec/python/manifests/3.11-slim-bookworm-linux-amd64`, {
      method: "HEAD",
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(pushedAs.headers.get("docker-content-digest")).toBe(amd64?.digest);
  });

  it("has an arm64 image that runs arm64 Python 3.11 (under QEMU), with pip and venv", async () => {
    const arm = `${testEnv().baseImage}-linux-arm64`;
    const out = await docker([
      "run",
      "--rm",
      "--platform",
      "linux/arm64",
      arm,
      "sh",
      "-c",
      "uname -m; python3 --version; python3 -m pip --version; python3 -c 'import venv'",
    ]);
    const [machine, version, pip] = out.split("\n");
    expect(machine).toBe("aarch64");
    expect(version).toMatch(/^Python 3\.11\.\d+$/);
    expect(pip).toMatch(/^pip \d+/);
    expect(
      await docker(["image", "inspect", "--format", '{{.Os}}/{{.Architecture}} {{index .Config.Labels "org.imagespec.test-env.seed-hash"}}', arm]),
    ).toMatch(/^linux\/arm64 [0-9a-f]{12}$/);
  });
});
