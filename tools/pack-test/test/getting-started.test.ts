/**
 * docs/getting-started.md, followed as written, from packed tarballs, in a fresh npm project (`npm init -y`, which
 * writes `"type": "commonjs"`) and a fresh pnpm project (`pnpm init`): install, `imagespec builders`, the first
 * image (its files taken from the page), tag, build, `docker run "$(... build ...)"`, the second build (skipped),
 * `explain --against HEAD` after a change, and the "From code" script run with tsx on Node 20.
 *
 * Two things stand in for what these machines cannot reach: the tarballs for the registry (package.json overrides
 * map our packages to them, as a registry would serve them), and IMAGESPEC_DEBIAN_BASE_IMAGE for Docker Hub's
 * python image (the test environment's seeded Debian Python, which is why the page says 3.11).
 */

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { tempProject } from "@imagespec/test-env/project";
import { beforeAll, describe, expect, it } from "vitest";
import { packAll } from "../src/pack.js";
import type { Manager } from "../src/project.js";
import { attempt, run } from "../src/run.js";
import { publishedPackages, REPO_DIR } from "../src/workspace.js";

const PAGE = readFileSync(path.join(REPO_DIR, "docs", "getting-started.md"), "utf8");
/** The page's code block whose first line names `file` (`// images.ts`, `# main.py`). */
function block(file: string): string {
  for (const match of PAGE.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) {
    const text = match[1]!;
    if (new RegExp(`^(//|#) ${file.replace(".", "\\.")}\\n`).test(text)) return text;
  }
  throw new Error(`docs/getting-started.md has no code block for ${file}`);
}
/**
 * A command's output inside an assertion message, each line behind "| ": vitest reads lines that look like stack
 * frames in a message and crashed on a child's `at ... .cjs:1:2` lines, hiding the failure itself.
 */
function shown(text: string): string {
  return text
    .split("\n")
    .map((line) => `| ${line}`)
    .join("\n");
}
/** The page says these commands, word for word. */
function says(line: string): void {
  expect(PAGE, `docs/getting-started.md should say: ${line}`).toContain(line);
}

const NEEDED = ["@imagespec/core", "imagespec", "@imagespec/builder-docker", "@imagespec/docker-build"];
let tarballs: Map<string, string>;

beforeAll(async () => {
  const dir = tempProject({}, { prefix: "imagespec-getting-started-tarballs-" });
  tarballs = await packAll(
    publishedPackages().filter((p) => NEEDED.includes(p.name)),
    dir,
  );
});

describe.each<Manager>(["npm", "pnpm"])("docs/getting-started.md with %s, from packed tarballs", (manager) => {
  it("works as written on Node 20", async () => {
    const env = {
      IMAGESPEC_DEBIAN_BASE_IMAGE: `${process.env.IMAGESPEC_TEST_REGISTRY}/imagespec/python:{python_version}-slim-bookworm`,
      npm_config_update_notifier: "false",
    };
    const top = tempProject({}, { prefix: `imagespec-getting-started-${manager}-` });
    // mkdir hello && cd hello
    const hello = path.join(top, "hello");
    mkdirSync(hello);
    const sh = (command: string, args: string[], timeout = 600_000) => attempt(command, args, { cwd: hello, env, timeout });

    // npm init -y / pnpm init
    says("npm init -y");
    says("pnpm init");
    await run(manager, manager === "npm" ? ["init", "-y"] : ["init"], { cwd: hello, env });
    const manifestFile = path.join(hello, "package.json");
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Record<string, unknown>;
    // npm takes the directly installed tarballs for our packages' dependencies on each other, and refuses an override
    // of a direct dependency: only the docker builder's own dependency needs one. pnpm resolves each dependency by
    // itself, so it gets all of them.
    const all = Object.fromEntries(NEEDED.map((name) => [name, `file:${tarballs.get(name)}`]));
    const overrides = manager === "npm" ? { "@imagespec/docker-build": all["@imagespec/docker-build"] } : all;
    writeFileSync(manifestFile, `${JSON.stringify({ ...manifest, ...(manager === "npm" ? { overrides } : { pnpm: { overrides } }) }, null, 2)}\n`);

    // npm install --save-dev @imagespec/core imagespec @imagespec/builder-docker / pnpm add -D ...
    says("npm install --save-dev @imagespec/core imagespec @imagespec/builder-docker");
    says("pnpm add -D @imagespec/core imagespec @imagespec/builder-docker");
    const ours = ["@imagespec/core", "imagespec", "@imagespec/builder-docker"].map((name) => tarballs.get(name)!);
    const install = await sh(
      manager,
      manager === "npm" ? ["install", "--save-dev", "--no-audit", "--no-fund", "--prefer-offline", ...ours] : ["add", "-D", "--prefer-offline", ...ours],
    );
    expect(install.exitCode, shown(install.stdout + install.stderr)).toBe(0);

    // npx imagespec builders
    const builders = await sh("npx", ["imagespec", "builders"]);
    expect(builders.exitCode, shown(builders.stderr)).toBe(0);
    expect(builders.stdout).toMatch(/^docker\s+100\s+@imagespec\/builder-docker\s+\d+\.\d+\.\d+\s+dependency in .*package\.json$/m);

    // Your first image: images.ts and main.py as the page writes them (main.py with a line of its own, so this
    // run's tag is new and the image really is built).
    writeFileSync(path.join(hello, "images.ts"), block("images.ts"));
    writeFileSync(path.join(hello, "main.py"), `${block("main.py")}# ${manager} ${process.pid} ${Date.now()}\n`);

    const tag = await sh("npx", ["imagespec", "tag", "images.ts"]);
    expect(tag.exitCode, shown(tag.stderr)).toBe(0);
    expect(tag.stdout.trim()).toMatch(/^hello:[a-z2-7]{26}$/);

    const first = await sh("npx", ["imagespec", "build", "images.ts"]);
    expect(first.exitCode, shown(first.stderr)).toBe(0);
    expect(first.stdout.trim()).toBe(tag.stdout.trim());
    expect(first.stderr).toContain(`hello: built ${tag.stdout.trim()} (docker)`);

    // docker run --rm "$(npx imagespec build images.ts hello)"
    says('docker run --rm "$(npx imagespec build images.ts hello)"');
    const ran = await sh("bash", ["-c", 'docker run --rm "$(npx imagespec build images.ts hello)"']);
    expect(ran.exitCode, shown(ran.stderr)).toBe(0);
    expect(ran.stdout).toMatch(/\|/); // figlet's letters

    // The second build: skipped.
    const second = await sh("npx", ["imagespec", "build", "images.ts"]);
    expect(second.exitCode, shown(second.stderr)).toBe(0);
    expect(second.stderr).toContain(`hello: skipped ${tag.stdout.trim()} (docker)`);

    // Change main.py: explain --against HEAD names the file.
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.email=me@example.com", "-c", "user.name=me", ...args], { cwd: hello, encoding: "utf8" });
    writeFileSync(path.join(hello, ".gitignore"), "node_modules/\n");
    git("init", "-q");
    git("add", ".");
    git("commit", "-q", "-m", "hello");
    writeFileSync(path.join(hello, "main.py"), `${readFileSync(path.join(hello, "main.py"), "utf8")}print("changed")\n`);
    const explain = await sh("npx", ["imagespec", "explain", "images.ts", "hello", "--against", "HEAD"]);
    expect(explain.exitCode, shown(explain.stderr)).toBe(0);
    expect(explain.stdout).toContain("1 input changed:");
    expect(explain.stdout).toMatch(/~ layers\[1\]\.copy\.src {2}changed .* main\.py/);

    // From code: build.ts with tsx.
    says("npm install --save-dev tsx");
    says("npx tsx build.ts");
    writeFileSync(path.join(hello, "build.ts"), block("build.ts"));
    const tsx = await sh(
      manager,
      manager === "npm" ? ["install", "--save-dev", "--no-audit", "--no-fund", "--prefer-offline", "tsx"] : ["add", "-D", "--prefer-offline", "tsx"],
    );
    expect(tsx.exitCode, shown(tsx.stdout + tsx.stderr)).toBe(0);
    const script = await sh("npx", ["tsx", "build.ts"]);
    expect(script.exitCode, shown(script.stdout + script.stderr)).toBe(0);
    expect(script.stdout.trim()).toMatch(/^built hello:[a-z2-7]{26}$/);
    if (manager === "npm") expect(JSON.parse(readFileSync(manifestFile, "utf8")).type ?? "commonjs").toBe("commonjs");
  });
});
