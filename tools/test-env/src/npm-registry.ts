/**
 * Packages published to the test environment's npm registry for one test: a package no build has installed yet, so
 * no engine cache (BuildKit's, or a package manager's cache mount) can answer for the registry. Private to
 * `@imagespec-test/*`: reading it needs the registry token.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { execa } from "execa";
import { nodeTestEnv } from "./env.js";

export interface PublishedPackage {
  readonly name: string;
  readonly version: string;
  /** Unpublishes it (every version). */
  remove(): Promise<void>;
}

/** Publishes `name@version` with `files` (relative path → content) to the test npm registry, logged in. */
export async function publishNpmPackage(name: string, version: string, files: Readonly<Record<string, string>>): Promise<PublishedPackage> {
  const env = nodeTestEnv();
  const dir = mkdtempSync(path.join(tmpdir(), "imagespec-npm-publish-"));
  try {
    const manifest = { name, version, main: "index.js", license: "Apache-2.0" };
    writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest));
    for (const [file, content] of Object.entries(files)) writeFileSync(path.join(dir, file), content);
    const packed = await execa("npm", ["pack", "--json", "--ignore-scripts"], { cwd: dir });
    const tarball = readFileSync(path.join(dir, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename));
    const file = `${name.split("/").pop()}-${version}.tgz`;
    const url = `${env.npmRegistry}${name.replace("/", "%2f")}`;
    const headers = { "content-type": "application/json", authorization: `Bearer ${env.npmToken}` };
    const body = {
      _id: name,
      name,
      "dist-tags": { latest: version },
      versions: {
        [version]: {
          ...manifest,
          _id: `${name}@${version}`,
          dist: {
            shasum: createHash("sha1").update(tarball).digest("hex"),
            integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
            tarball: `${env.npmRegistry}${name}/-/${file}`,
          },
        },
      },
      _attachments: { [file]: { content_type: "application/octet-stream", data: tarball.toString("base64"), length: tarball.length } },
    };
    const response = await fetch(url, { method: "PUT", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`Cannot publish ${name}@${version} to ${env.npmRegistry}: ${response.status} ${await response.text()}`);
    return {
      name,
      version,
      remove: async () => {
        await fetch(`${url}/-rev/imagespec`, { method: "DELETE", headers, signal: AbortSignal.timeout(30_000) }).catch(() => undefined);
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
