/**
 * The incremental context: a 5,000-file, 100 MB folder is copied into an image; one file is edited and the image
 * rebuilt. The engine keeps the context from the last build (under the session's shared key) and asks the session
 * only for files whose size, time or mode changed, so the rebuild pulls about the edited file plus a fixed overhead
 * (one STAT packet per entry, the Dockerfile), against the whole context that a tar upload sends every time.
 *
 *   pnpm bench    (in packages/docker-build; needs the test environment, which it starts)
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BuildContext, Image } from "@imagespec/core";
import { docker, testEnv } from "@imagespec/test-env";
import Docker from "dockerode";
import { afterAll, bench, describe } from "vitest";
import { renderDockerBuild } from "../src/index.js";
import { buildOnEngine, contextTar } from "../src/engine.js";

const FILES = 5_000;
const FILE_SIZE = 20 * 1024; // 5,000 × 20 KiB ≈ 100 MB
const env = testEnv();
const root = mkdtempSync(path.join(tmpdir(), "imagespec-bench-context-"));
for (let i = 0; i < FILES; i++) {
  const dir = path.join(root, "data", `d${i % 50}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `f${i}.bin`), randomBytes(FILE_SIZE));
}
// A new Image each build: an Image's identity is computed once, and an edit must give a new tag.
const definition = () => Image.fromBase(env.baseImage, { root, name: "i12-bench/incremental-context" }).withSourceFolder("data", "/data");
const connection = { docker: new Docker(), endpoint: "local" };
const built: string[] = [];

interface Sent {
  asked: number;
  fileBytes: number;
  wireBytes: number;
}

async function build(): Promise<Sent> {
  const image = definition();
  const identity = await image.identity();
  const context: BuildContext = {
    uri: identity.uri,
    identity,
    push: false,
    baseUri: undefined,
    credentials: async () => undefined,
    config: {},
    signal: new AbortController().signal,
    report: () => {},
  };
  const result = await buildOnEngine(connection, image, context, { settings: {}, engine: "local" });
  built.push(result.uri);
  const match = /the engine asked for (\d+) of them \((\d+) bytes\); (\d+) bytes sent in all/.exec(result.log ?? "");
  if (!match) throw new Error(`no context line in the build log:\n${result.log}`);
  return { asked: Number(match[1]), fileBytes: Number(match[2]), wireBytes: Number(match[3]) };
}

/** What the tar upload of the same context sends: the whole context, every build. */
async function tarBytes(): Promise<number> {
  const image = definition();
  const tar = contextTar((await renderDockerBuild(image)).context, { image, identity: await image.identity() });
  let bytes = 0;
  for await (const chunk of tar.stream) bytes += (chunk as Buffer).length;
  await tar.done;
  return bytes;
}

const whole = await tarBytes();
const first = await build();
const unchanged = await build(); // the fixed overhead: every entry's STAT packet, nothing asked
let edits = 0;
const rebuilds: Sent[] = [];

afterAll(async () => {
  const worst = rebuilds.reduce((a, b) => (b.wireBytes > a.wireBytes ? b : a), rebuilds[0] ?? unchanged);
  const bound = 1.1 * FILE_SIZE + unchanged.wireBytes;
  console.log(
    [
      `incremental context: ${FILES} files, ${(FILES * FILE_SIZE / 1e6).toFixed(1)} MB`,
      `  the whole context (tar upload, every build): ${whole} bytes`,
      `  first build through the session:            ${first.wireBytes} bytes (${first.asked} files asked for)`,
      `  rebuild, nothing changed (fixed overhead):  ${unchanged.wireBytes} bytes (${unchanged.asked} files asked for; ${(unchanged.wireBytes / FILES).toFixed(0)} bytes per entry)`,
      `  rebuild after editing one ${FILE_SIZE}-byte file: ${worst.wireBytes} bytes (${worst.asked} file asked for, ${worst.fileBytes} bytes of it), worst of ${rebuilds.length}`,
      `  files asked for on each rebuild: ${rebuilds.map((r) => r.asked).join(", ")} (each must be 1: the edited file)`,
      `  bound: 1.1 × ${FILE_SIZE} + ${unchanged.wireBytes} = ${bound.toFixed(0)} bytes → ${worst.wireBytes <= bound && rebuilds.every((r) => r.asked === 1) ? "within" : "NOT MET"}; ${(whole / worst.wireBytes).toFixed(0)}× less than the tar`,
    ].join("\n"),
  );
  for (const uri of new Set(built)) await docker(["image", "rm", uri]).catch(() => {});
  rmSync(root, { recursive: true, force: true });
});

describe(`rebuild after editing one file of ${FILES}`, () => {
  bench(
    "edit one file, rebuild (the engine pulls only that file)",
    async () => {
      const n = (edits++ * 997) % FILES;
      writeFileSync(path.join(root, "data", `d${n % 50}`, `f${n}.bin`), randomBytes(FILE_SIZE));
      rebuilds.push(await build());
    },
    { iterations: 3, warmupIterations: 0 },
  );
});
