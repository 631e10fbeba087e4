/**
 * What an image built on the test engine holds, read from the image itself: every path of its file system
 * (`docker export` of a container made from it), and which of its layers and metadata files contain some bytes
 * (`docker save`, every layer unpacked) — for tests that must show something is, or is not, in an image.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { docker } from "./docker.js";
import { testEnv } from "./env.js";

/** Every path in the image's file system, without a leading `/` or a trailing `/` (`app/dist/server.js`). */
export async function imageFiles(uri: string): Promise<string[]> {
  const id = await docker(["create", uri]);
  try {
    const env = testEnv();
    // Streamed through a pipe: the export of a Node or Python image is hundreds of MB, too much to hold in memory.
    const listing = await execa("bash", ["-c", 'set -o pipefail; "$0" export "$1" | tar -t', env.dockerCli, id], {
      env: { DOCKER_HOST: env.dockerHost },
      maxBuffer: 256 * 1024 ** 2,
    });
    return listing.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => line.replace(/\/$/, ""));
  } finally {
    await docker(["rm", "-f", id]).catch(() => undefined);
  }
}

/**
 * The files of `docker save <uri>` that contain `needle`: each layer tarball whose unpacked files hold it (searched
 * in every file's bytes), the image config, the manifest. An empty list means the bytes are nowhere in the image.
 */
export async function imageFilesContaining(uri: string, needle: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "imagespec-image-save-"));
  try {
    const env = testEnv();
    await execa("sh", ["-c", '"$0" save "$1" | tar -x -C "$2"', env.dockerCli, uri, dir], { env: { DOCKER_HOST: env.dockerHost } });
    const hits: string[] = [];
    const layers: string[] = [];
    const visit = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const file = path.join(folder, entry.name);
        if (entry.isDirectory()) visit(file);
        else if (entry.name.endsWith(".tar")) layers.push(file);
        else if (readFileSync(file).includes(needle)) hits.push(path.relative(dir, file));
      }
    };
    visit(dir);
    if (layers.length === 0) throw new Error(`Cannot read the layers of ${uri}: docker save gave none`);
    for (const layer of layers) {
      const found = await execa("sh", ["-c", 'tar -xOf "$0" | grep -c -F -- "$1" || true', layer, needle]);
      if (Number(found.stdout.trim()) > 0) hits.push(path.relative(dir, layer));
    }
    return hits;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
