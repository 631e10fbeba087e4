import { randomBytes } from "node:crypto";
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";

const example = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const imagespec = path.join(example, "node_modules", ".bin", "imagespec");

interface Report {
  name: string;
  uri: string;
  status: "built" | "skipped" | "failed" | "planned";
  reason: string | null;
}

/** The environment run.sh sets up: the test registry, and the offline seed image as the Debian base. */
function exampleEnv(): Record<string, string> {
  const registry = process.env.IMAGESPEC_TEST_REGISTRY;
  if (!registry) throw new Error("IMAGESPEC_TEST_REGISTRY is not set: the test environment (tools/test-env) did not start");
  return {
    CI: "true",
    IMAGESPEC_REGISTRY: registry,
    IMAGESPEC_DEBIAN_BASE_IMAGE: `${registry}/imagespec/python:{python_version}-slim-bookworm`,
  };
}

async function buildJson(cwd: string): Promise<Map<string, Report>> {
  const result = await execa(imagespec, ["build", "images.ts", "--json"], { cwd, reject: false, env: exampleEnv() });
  expect(result.exitCode, `${result.stderr}\n${result.stdout}`).toBe(0);
  const reports = JSON.parse(result.stdout) as Report[];
  return new Map(reports.map((r) => [r.name, r]));
}

const temps: string[] = [];
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

describe("examples/layered", () => {
  it("builds the base and both apps, then runs the apps", async () => {
    const result = await execa("bash", [path.join(example, "run.sh")], { reject: false, env: { CI: "true" } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain("hello app: hello");
    expect(result.stdout).toMatch(/report app: Python 3\.11\.\d+/);
    expect(result.stdout).toMatch(/_{2,}/); // figlet, from the shared base's apt layer
  });

  it("rebuilds only the app whose code changed; the base and the other app are skipped", async () => {
    // A copy of the example (the committed files stay as they are) with a change to app hello that no earlier
    // run has made, so its new tag cannot be in the registry yet.
    const copy = await mkdtemp(path.join(os.tmpdir(), "imagespec-layered-"));
    temps.push(copy);
    for (const entry of ["images.ts", "package.json", "apps", "shared"]) {
      await cp(path.join(example, entry), path.join(copy, entry), { recursive: true });
    }
    await symlink(path.join(example, "node_modules"), path.join(copy, "node_modules"), "dir");
    await writeFile(path.join(copy, ".gitignore"), "node_modules\n");
    const git = (...args: string[]) => execa("git", ["-c", "user.name=example", "-c", "user.email=example@localhost", ...args], { cwd: copy });
    await git("init", "-q");
    await git("add", ".");
    await git("commit", "-q", "-m", "the example as committed");
    const before = await buildJson(copy); // the committed definition: every tag exists after the first test
    expect([...before.values()].map((r) => r.status)).toEqual(["skipped", "skipped", "skipped"]);

    const nonce = randomBytes(6).toString("hex");
    const main = path.join(copy, "apps", "hello", "main.py");
    await writeFile(main, (await readFile(main, "utf8")).replace('MESSAGE = "hello"', `MESSAGE = "hello ${nonce}"`));

    const after = await buildJson(copy);
    expect(after.get("base")?.status).toBe("skipped");
    expect(after.get("report")?.status).toBe("skipped");
    expect(after.get("hello")?.status).toBe("built");
    expect(after.get("base")?.uri).toBe(before.get("base")?.uri);
    expect(after.get("report")?.uri).toBe(before.get("report")?.uri);
    expect(after.get("hello")?.uri).not.toBe(before.get("hello")?.uri);

    // `explain --against HEAD` (the copy is a git repository) names the one file that changed.
    const explain = await execa(imagespec, ["explain", "images.ts", "hello", "--against", "HEAD", "--json"], { cwd: copy, reject: false, env: exampleEnv() });
    expect(explain.exitCode, explain.stderr).toBe(0);
    const changes = (JSON.parse(explain.stdout) as { changes: { input: string; files?: { path: string; change: string }[] }[] }).changes;
    expect(changes.map((c) => c.input)).toContain("layers[0].copy.src");
    expect(changes.flatMap((c) => c.files ?? [])).toEqual([expect.objectContaining({ path: "main.py", change: "changed" })]);

    const run = await execa(process.env.IMAGESPEC_DOCKER_CLI || "docker", ["run", "--rm", after.get("hello")!.uri], { reject: false });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(`hello app: hello ${nonce}`);
  });
});
