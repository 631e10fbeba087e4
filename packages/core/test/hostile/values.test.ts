/**
 * Hostile values at the front doors of core, one `describe` per point of issue 19: each is refused with an
 * INVALID_SPEC error that names the field, or read exactly as written. (The same values through a real engine are in
 * builder-docker's hostile tests; every field through every door in the CLI's corpus.)
 */

import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { grammar, Image, ImageBuildEngine, type ImageBuilder, ImageSpec, parseImageSpecYaml, printable, showValue } from "../../src/index.js";
import { dockerfileFlag, dockerfileImageReference, mountOption, parseImageReference, shellQuote } from "../../src/authoring.js";
import { splitArgs } from "../../src/spec.js";

const root = mkdtempSync(path.join(tmpdir(), "imagespec-hostile-values-"));
const INJECTION = "/a\u00e0touch${IFS}/pwned;#";

function refusal(run: () => unknown): { code: string; field?: string; message: string } {
  try {
    run();
  } catch (error) {
    return error as { code: string; field?: string; message: string };
  }
  throw new Error("expected a refusal, and it was accepted");
}

describe("1. a secret mount target must be read back by BuildKit's flag parser exactly", () => {
  it("refuses the injection through withCommands, naming the field", () => {
    const error = refusal(() =>
      Image.fromDebianBase({ root }).withCommands(["echo intended > /intended"], { secretMounts: [{ id: "s1", env: "HOME", target: INJECTION }] }),
    );
    expect(error).toMatchObject({ code: "INVALID_SPEC", field: "secretMounts[0].target" });
    expect(error.message).toContain("U+00E0");
    expect(error.message).toMatch(/BuildKit reads --mount flags byte by byte/);
  });

  it("refuses it through pipSecretMounts, the [src, target] form and YAML, each naming its field", () => {
    expect(refusal(() => new ImageSpec({ root, packages: ["six"], pipSecretMounts: [{ id: "s1", target: INJECTION }] }))).toMatchObject({
      field: "pipSecretMounts[0].target",
    });
    expect(refusal(() => new ImageSpec({ root, packages: ["six"], pipSecretMounts: [["netrc", INJECTION]] }))).toMatchObject({
      field: "pipSecretMounts[0][1]",
    });
    const yaml = `packages: [six]\npip_secret_mounts:\n  - [netrc, "${INJECTION}"]\n`;
    expect(refusal(() => parseImageSpecYaml(yaml, { root }))).toMatchObject({ code: "INVALID_SPEC", field: "pip_secret_mounts[0][1]" });
    expect(refusal(() => Image.fromDebianBase({ root }).withAptPackages("curl", { secretMounts: [{ id: "s", target: "/run/x\u00a0y" }] }))).toMatchObject({
      field: "secretMounts[0].target",
    });
  });

  it("refuses what newer BuildKit expands in mount options ($, quotes, backslashes) and non-printable ASCII", () => {
    for (const target of ["/run/$HOME", "/run/${X}", "/run/it's", '/run/"q"', "/run/a\\b", "/run/a\tb", "/run/\u0085"]) {
      expect(refusal(() => Image.fromDebianBase({ root }).withCommands("true", { secretMounts: [{ id: "s", target }] })).field).toBe("secretMounts[0].target");
      expect(() => mountOption("target", target)).toThrow(/Cannot write .* as the mount option target/);
    }
  });

  it("writes printable ASCII with spaces, commas and = exactly, quoted for the flag parser and the CSV reader", () => {
    expect(mountOption("target", "/run/a b,c=d")).toBe('"target=/run/a b,c=d"');
    expect(dockerfileFlag("mount", `type=secret,${mountOption("target", "/run/a b,c")}`)).toBe('--mount=type=secret,\\"target=/run/a\\ b,c\\"');
    expect(() => dockerfileFlag("mount", "type=secret,target=/a\u00e0")).toThrow(/byte by byte/);
  });
});

describe("2. every reference written on a FROM line is a reference", () => {
  it("dockerfileImageReference refuses anything that is not [registry/]name[:tag][@digest]", () => {
    expect(dockerfileImageReference("nvidia/cuda:12.4.1-runtime-ubuntu22.04")).toBe("nvidia/cuda:12.4.1-runtime-ubuntu22.04");
    for (const bad of ["nvidia/cuda:12\nRUN touch /pwned", "x AS y", "--platform=linux/arm64 x", "UPPER/case", "a b"]) {
      expect(() => dockerfileImageReference(bad)).toThrow(/is not an image reference/);
    }
  });
});

describe("7. registries as Docker's reference grammar reads them", () => {
  it("reads a single-label registry as Docker does, a Docker Hub namespace, and says so at every door", async () => {
    // flytekit's own example writes `registry: pingsutw`: Docker reads pingsutw/app:tag as docker.io/pingsutw/app.
    const fluent = Image.fromDebianBase({ root, registry: "pingsutw", name: "app" });
    expect(fluent.registry).toBe("pingsutw");
    expect(await fluent.uri()).toMatch(/^pingsutw\/app:/);
    expect(parseImageReference(`${fluent.registry}/app:1`)).toMatchObject({ domain: "docker.io", path: "pingsutw/app" });
    const warning = grammar.registryWarning("pingsutw");
    expect(warning).toMatch(
      /registry "pingsutw" is a Docker Hub namespace: .*"docker\.io\/pingsutw\/app".*pushes go to Docker Hub; write "docker\.io\/pingsutw"/,
    );
    expect(new ImageSpec({ root, registry: "pingsutw" }).warnings).toContain(warning);
    expect(parseImageSpecYaml("registry: myteam/sub\n", { root }).warnings).toContain(grammar.registryWarning("myteam/sub"));
    for (const host of ["localhost", "localhost:5000/team", "registry.example.com", "127.0.0.1:5000", "myregistry:5000", "[::1]:5000", "docker.io/pingsutw"]) {
      expect(Image.fromDebianBase({ root, registry: host }).registry).toBe(host);
      expect(grammar.registryWarning(host)).toBeUndefined();
      expect(new ImageSpec({ root, registry: host }).warnings).toEqual([]);
    }
  });

  it("refuses upper case in the fluent API, saying field, value and what to write (an ImageSpec lower-cases it, with a warning)", () => {
    expect(refusal(() => Image.fromDebianBase({ root, registry: "ghcr.io/Acme" })).message).toContain(
      'registry = "ghcr.io/Acme": the path of a registry is lowercase (it is part of every image name); write "ghcr.io/acme"',
    );
    expect(refusal(() => Image.fromDebianBase({ root, registry: "PingSutw" })).message).toContain(
      'the path of a registry is lowercase (it is part of every image name); write "pingsutw"',
    );
    expect(refusal(() => Image.fromDebianBase({ root, registry: "Registry.Example.com" })).message).toMatch(
      /registry host is written in lowercase.*write "registry\.example\.com"/,
    );
    expect(refusal(() => Image.fromDebianBase({ root, registry: "https://ghcr.io/acme" })).field).toBe("registry");
    expect(new ImageSpec({ root, registry: "GHCR.io/Acme" }).registry).toBe("ghcr.io/acme");
  });
});

describe("8. the lower ones", () => {
  it("refuses half of a surrogate pair in any field, at every front door, naming it", () => {
    expect(refusal(() => Image.fromDebianBase({ root }).withEnvVars({ A: "x\ud800" }))).toMatchObject({ code: "INVALID_SPEC", field: "vars.A" });
    expect(refusal(() => new ImageSpec({ root, commands: ["echo \udc00"] }))).toMatchObject({ field: "commands[0]" });
    expect(refusal(() => new ImageSpec({ root, env: { ["K\ud800"]: "v" } })).message).toMatch(/surrogate/);
    expect(() => shellQuote("a\ud800")).toThrow(/surrogate/);
  });

  it("refuses an env value or a command longer than a Dockerfile line can hold, before anything builds", () => {
    const long = "x".repeat(70_000);
    expect(refusal(() => Image.fromDebianBase({ root }).withEnvVars({ BIG: long }))).toMatchObject({
      field: "vars.BIG",
      message: expect.stringMatching(/at most 61439 bytes/),
    });
    expect(refusal(() => new ImageSpec({ root, commands: [`echo ${long}`] }))).toMatchObject({ field: "commands[0]" });
    // Escapes count: 40 000 quotes take 80 000 bytes in the Dockerfile.
    expect(refusal(() => new ImageSpec({ root, env: { Q: '"'.repeat(40_000) } })).field).toBe("env.Q");
    expect(Image.fromDebianBase({ root }).withEnvVars({ OK: "y".repeat(60_000) }).layers).toHaveLength(1);
  });

  it("escapes control and bidi characters in messages, and cuts long values", () => {
    const hostile = "a\u001b[2Jb\u0007c\u007fd\u0085e\u2028f\u202eg";
    const message = refusal(() => Image.fromDebianBase({ root, name: hostile })).message;
    expect(message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    expect(message).toContain("\\u202e");
    expect(printable("x\u202ey\u2066z\ufeff")).toBe("x\\u202ey\\u2066z\\ufeff");
    expect(showValue("v".repeat(5_000))).toMatch(/\.\.\. \(5000 characters\)$/);
  });

  it("refuses a backslash in ImageSpec.copy (never read as a separator), and copies such a name with the fluent API", () => {
    expect(refusal(() => new ImageSpec({ root, copy: ["dir\\file.txt"] }))).toMatchObject({ field: "copy[0]", message: expect.stringMatching(/backslash/) });
    expect(refusal(() => new ImageSpec({ root, copy: ["..\\outside"] })).field).toBe("copy[0]");
    const image = Image.fromDebianBase({ root }).withSourceFile("a\\b.txt", "/app/");
    expect(image.layers[0]).toMatchObject({ src: "a\\b.txt" });
  });

  it("turns missing, folder-for-file and too-long paths into FILE_NOT_FOUND naming the field, from identity() and tag()", async () => {
    const cases: [Image, RegExp][] = [
      [Image.fromDebianBase({ root }).withSourceFolder("missing"), /layers\[0\]\.copy\.src = "missing": /],
      [Image.fromDebianBase({ root }).withDockerignore("missing.dockerignore"), /layers\[0\]\.dockerignore\.file = "missing\.dockerignore": it does not exist/],
      [Image.fromDebianBase({ root }).withDockerignore("."), /layers\[0\]\.dockerignore\.file = "\.": it is a folder, not a file/],
      [Image.fromDebianBase({ root }).withSourceFolder("n".repeat(5_000)), /the path is too long for this system/],
    ];
    for (const [image, message] of cases) {
      const error = await image.tag().then(
        () => undefined,
        (e: unknown) => e as { code: string; field?: string; message: string },
      );
      expect(error).toMatchObject({ code: "FILE_NOT_FOUND", message: expect.stringMatching(message) });
      expect(error?.field).toMatch(/^layers\[0\]\./);
    }
  });

  it("refuses pythonExec with NUL or a newline, naming the field; quotes a word that would read as an assignment", () => {
    expect(refusal(() => new ImageSpec({ root, pythonExec: "python\u0000" }))).toMatchObject({ code: "INVALID_SPEC", field: "pythonExec" });
    expect(refusal(() => Image.fromDebianBase({ root, pythonExec: "py\nthon" }))).toMatchObject({ field: "pythonExec" });
    expect(shellQuote("A=")).toBe("'A='");
    expect(shellQuote("PATH=/evil")).toBe("'PATH=/evil'");
    expect(shellQuote("--index-url=x")).toBe("--index-url=x");
  });

  it("splits pipExtraArgs only where sh does (space, tab, newline)", () => {
    expect(splitArgs("a\u000bb c\fd e\u00a0f g\u2028h i\u3000j k\ufeffl")).toEqual(["a\u000bb", "c\fd", "e\u00a0f", "g\u2028h", "i\u3000j", "k\ufeffl"]);
    expect(splitArgs('a\tb\nc  \'d e\' "f\\"g" h\\ i j\\\nk')).toEqual(["a", "b", "c", "d e", 'f"g', "h i", "jk"]);
  });

  it("refuses conda specs with a newline or other whitespace than spaces", () => {
    expect(refusal(() => new ImageSpec({ root, condaPackages: ["numpy\n1.26"] })).field).toBe("condaPackages[0]");
    expect(refusal(() => new ImageSpec({ root, condaPackages: ["numpy\t1.26"] })).field).toBe("condaPackages[0]");
    expect(new ImageSpec({ root, condaPackages: ["numpy 1.26", "scipy >=1.11"] }).fields.condaPackages).toHaveLength(2);
  });

  it("bounds the name (and registry with name) by the reference grammar's 255 characters", () => {
    expect(refusal(() => Image.fromDebianBase({ root, name: "a".repeat(256) }))).toMatchObject({
      field: "name",
      message: expect.stringMatching(/at most 255 characters/),
    });
    expect(refusal(() => Image.fromDebianBase({ root, registry: "r.example.com", name: "a".repeat(250) }))).toMatchObject({ field: "name" });
    expect(Image.fromDebianBase({ root, name: "a".repeat(255) }).name).toHaveLength(255);
  });

  it("checks a tag format with a real spec hash's length", () => {
    expect(refusal(() => Image.fromDebianBase({ root, tagFormat: `${"v".repeat(110)}-{spec_hash}` })).field).toBe("tagFormat");
  });
});

describe("6. nothing is read through a link that leaves the root", () => {
  const tree = mkdtempSync(path.join(tmpdir(), "imagespec-hostile-links-"));
  const outside = path.join(tree, "outside");
  const project = path.join(tree, "project");
  mkdirSync(outside);
  mkdirSync(project);
  writeFileSync(path.join(outside, "secret.txt"), "host secret\n");
  mkdirSync(path.join(project, "app"));
  writeFileSync(path.join(project, "app", "main.py"), "print(1)\n");
  writeFileSync(path.join(project, "inside.txt"), "inside\n");
  symlinkSync(path.join(outside, "secret.txt"), path.join(project, "secret-link.txt"));
  symlinkSync(outside, path.join(project, "outside-dir"));
  symlinkSync("inside.txt", path.join(project, "inside-link.txt"));
  symlinkSync(path.join(outside, "secret.txt"), path.join(project, "app", "escape.txt"));

  it("refuses a copy, a code bundle, a requirements file or an ignore file that is (or goes through) such a link", async () => {
    const spec = (copy: string) => new ImageSpec({ root: project, copy: [copy] });
    for (const [make, field] of [
      [() => spec("secret-link.txt"), "layers[0].copy.src"],
      [() => spec("outside-dir"), "layers[0].copy.src"],
      [() => spec("outside-dir/secret.txt"), "layers[0].copy.src"],
      [() => new ImageSpec({ root: project, sourceRoot: "outside-dir" }), "layers[0].codeBundle.src"],
      [() => new ImageSpec({ root: project, requirements: "outside-dir/secret.txt", packages: [] }), "layers[0].requirements.file"],
      [() => Image.fromDebianBase({ root: project }).withDockerignore("secret-link.txt"), "layers[0].dockerignore.file"],
    ] as const) {
      await expect(make().tag()).rejects.toMatchObject({
        code: "INVALID_SPEC",
        field,
        message: expect.stringMatching(/a symbolic link on its path leads outside the root/),
      });
    }
  });

  it("follows a link that stays inside, and keeps a link inside a copied folder as a link (its target is never read)", async () => {
    const identity = await new ImageSpec({ root: project, copy: ["inside-link.txt", "app"] }).identity();
    const app = identity.inputs.find((i) => i.name === "layers[1].copy.src")!;
    expect(app.files).toContainEqual(expect.objectContaining({ path: "escape.txt", type: "symlink", target: path.join(outside, "secret.txt") }));
    expect(app.files?.find((f) => f.path === "escape.txt")?.digest).toBeUndefined();
  });

  it("compares against the root's real path: a root reached through a link is fine, a link in it that leads out is not", async () => {
    // As /tmp is on macOS (/tmp -> /private/tmp), or a checkout reached through a linked home folder.
    const linkedRoot = path.join(tree, "linked-project");
    symlinkSync(project, linkedRoot, "dir");
    await expect(
      new ImageSpec({ root: linkedRoot, copy: ["inside.txt", "inside-link.txt", "app"], requirements: "inside.txt", packages: [] }).tag(),
    ).resolves.toBeTypeOf("string");
    await expect(new ImageSpec({ root: `${linkedRoot}/`, copy: ["app/main.py"] }).tag()).resolves.toBeTypeOf("string");
    await expect(new ImageSpec({ root: linkedRoot, copy: ["secret-link.txt"] }).tag()).rejects.toMatchObject({
      code: "INVALID_SPEC",
      field: "layers[0].copy.src",
      message: expect.stringMatching(/a symbolic link on its path leads outside the root/),
    });
  });

  it("lets the fluent API name a folder outside the root, but not follow a link out of that folder", async () => {
    const fromSub = Image.fromDebianBase({ root: path.join(project, "app") });
    await expect(fromSub.withSourceFile("../inside.txt", "/x").tag()).resolves.toBeTypeOf("string");
    await expect(fromSub.withSourceFile("../secret-link.txt", "/x").tag()).rejects.toMatchObject({
      code: "INVALID_SPEC",
      message: expect.stringContaining("leads outside"),
    });
  });
});

describe("5. one credential resolver for everything an image's build does with registries", () => {
  it("hands the builder the resolver of the image's registryConfig, not the engine's", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "imagespec-hostile-creds-"));
    writeFileSync(
      path.join(dir, "config.json"),
      JSON.stringify({ auths: { "127.0.0.1:5999": { auth: Buffer.from("from-image:secret").toString("base64") } } }),
    );
    const seen: (string | undefined)[] = [];
    const builder: ImageBuilder = {
      type: "fake",
      supports: () => true,
      async build(_image, context) {
        seen.push((await context.credentials("127.0.0.1:5999"))?.username);
        return { uri: context.uri, pushed: false };
      },
    };
    const engine = new ImageBuildEngine({ env: {}, credentials: async () => ({ username: "from-engine", password: "x" }) }).register(builder);
    const local = (options: { registryConfig?: string }) => Image.fromBase("busybox:1", { root: dir, ...options }).withEnvVars({ K: String(Math.random()) });
    await engine.build([local({ registryConfig: "config.json" }), local({})], { force: true });
    expect(seen.sort()).toEqual(["from-engine", "from-image"]);
  });
});
