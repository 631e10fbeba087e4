/**
 * Packages published to the test environment's npm registry for one test: a package no build has installed yet, so
 * no engine cache (BuildKit's, or a package manager's cache mount) can answer for the registry. Private to
 * `@imagespec-test/*`: reading it needs the registry token. Published by tools/test-env/npm-registry.mjs, as the
 * seeded packages are.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { nodeTestEnv } from "./env.js";

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "npm-registry.mjs");

export interface PublishedPackage {
  readonly name: string;
  readonly version: string;
  /** Unpublishes it (every version). */
  remove(): Promise<void>;
}

/** Publishes `name@version` with `files` (relative path → content) to the test npm registry, logged in. */
export async function publishNpmPackage(name: string, version: string, files: Readonly<Record<string, string>>): Promise<PublishedPackage> {
  const env = nodeTestEnv();
  const auth = ["--registry", env.npmRegistry, "--token", env.npmToken];
  const dir = mkdtempSync(path.join(tmpdir(), "imagespec-npm-publish-"));
  try {
    writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, version, main: "index.js", license: "Apache-2.0" }));
    for (const [file, content] of Object.entries(files)) writeFileSync(path.join(dir, file), content);
    const packed = await execa("npm", ["pack", "--json", "--ignore-scripts"], { cwd: dir });
    const tarball = path.join(dir, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
    await execa(process.execPath, [SCRIPT, "publish", ...auth, "--tarball", tarball], { timeout: 60_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    name,
    version,
    remove: async () => void (await execa(process.execPath, [SCRIPT, "unpublish", ...auth, "--name", name], { timeout: 60_000, reject: false })),
  };
}
