/**
 * Which platforms an engine builds for. Its own (`/version`: Os/Arch) and those its BuildKit worker can run, with
 * whatever emulators (QEMU through binfmt_misc) its host has registered: BuildKit's `ListWorkers`, the call behind
 * `docker buildx inspect`, made over the Engine API's `/grpc` endpoint (an HTTP/1.1 upgrade to h2c, then gRPC).
 * Asking before a build turns "exec format error" halfway through a build into a clear error before it starts.
 */

import http2 from "node:http2";
import type { Duplex } from "node:stream";
import type { Image } from "@imagespec/core";
import { formatPlatform, ImageSpecError, parsePlatform, samePlatform } from "@imagespec/core/authoring";
import type { EngineConnection } from "./engine-api.js";
import { ProtoReader } from "./protobuf.js";

const LIST_WORKERS = "/moby.buildkit.v1.Control/ListWorkers";
const DEFAULT_TIMEOUT_MS = 15_000;

/** The engine's own platform, `os/arch` as its `/version` says (`linux/arm64` on an arm64 host). */
export async function engineNativePlatform(connection: EngineConnection): Promise<string> {
  const version = await connection.docker.version();
  return formatPlatform({ os: version.Os.toLowerCase(), architecture: version.Arch.toLowerCase() });
}

/** Opens the engine's `/grpc` endpoint: POST with `Upgrade: h2c`, answered by 101 and the raw connection. */
function dialGrpc(connection: EngineConnection): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    connection.docker.modem.dial(
      {
        path: "/grpc",
        method: "POST",
        hijack: true,
        // An empty body: docker-modem would otherwise send a chunked one, whose last bytes could reach the engine
        // after the upgrade, in front of the HTTP/2 preface.
        file: Buffer.alloc(0),
        headers: { Upgrade: "h2c" },
        statusCodes: { 101: true, 200: true, 404: "the engine has no /grpc endpoint (no BuildKit)", 500: "server error" },
        options: {},
      } as never,
      (error: unknown, socket: unknown) => (error ? reject(error) : resolve(socket as Duplex)),
    );
  });
}

/** One unary gRPC call over an upgraded connection; resolves to the response message's bytes. */
async function unaryCall(socket: Duplex, path: string, request: Uint8Array, timeoutMs: number): Promise<Buffer> {
  const session = http2.connect("http://docker.engine", { createConnection: () => socket });
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      session.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
      const frame = Buffer.alloc(5 + request.length);
      frame.writeUInt32BE(request.length, 1);
      frame.set(request, 5);
      stream.end(frame);
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message: string | undefined;
      const grpcStatus = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] !== undefined) status = String(headers["grpc-status"]);
        if (headers["grpc-message"] !== undefined) message = decodeURIComponent(String(headers["grpc-message"]));
      };
      stream.on("response", grpcStatus);
      stream.on("trailers", grpcStatus);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      stream.on("end", () => {
        clearTimeout(timer);
        if (status !== "0") {
          reject(new Error(`${path} failed (gRPC status ${status ?? "missing"}${message ? `: ${message}` : ""})`));
          return;
        }
        const body = Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0) {
          reject(new Error(`${path} answered ${body.length} bytes that are not one uncompressed gRPC message`));
          return;
        }
        resolve(body.subarray(5, 5 + body.readUInt32BE(1)));
      });
    });
  } finally {
    session.destroy();
    socket.destroy();
  }
}

/** `ListWorkersResponse`: record = 1 (WorkerRecord: platforms = 3 (pb.Platform: Architecture = 1, OS = 2, Variant = 3)). */
export function decodeWorkerPlatforms(bytes: Uint8Array): string[] {
  const text = new TextDecoder();
  const platforms: string[] = [];
  const response = new ProtoReader(bytes);
  response.fields((n, w) => {
    if (n !== 1 || w !== 2) return false;
    response.message((record) =>
      record.fields((rn, rw) => {
        if (rn !== 3 || rw !== 2) return false;
        record.message((platform) => {
          let os = "";
          let architecture = "";
          let variant = "";
          platform.fields((pn, pw) => {
            if (pw !== 2 || pn < 1 || pn > 3) return false;
            const value = text.decode(platform.bytes());
            if (pn === 1) architecture = value;
            else if (pn === 2) os = value;
            else variant = value;
            return true;
          });
          if (os && architecture) platforms.push(formatPlatform({ os, architecture, ...(variant && { variant }) }));
        });
        return true;
      }),
    );
    return true;
  });
  return [...new Set(platforms)];
}

/**
 * The platforms the engine's BuildKit can build for, as `docker buildx inspect` lists them: the engine's own and
 * every one its host can emulate. BuildKit checks the emulators again for this call, so a QEMU registered after the
 * engine started counts.
 */
export async function engineBuildPlatforms(connection: EngineConnection, options: { timeoutMs?: number } = {}): Promise<string[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const socket = await dialGrpc(connection);
  return decodeWorkerPlatforms(await unaryCall(socket, LIST_WORKERS, new Uint8Array(), timeoutMs));
}

/** What an engine can build: its own platform, and every platform its BuildKit worker runs (emulated or not). */
export interface EnginePlatforms {
  readonly native: string;
  readonly supported: readonly string[];
}

/** The engine's platforms; when BuildKit cannot be asked (an engine without `/grpc`), only its own platform. */
export async function enginePlatforms(
  connection: EngineConnection,
  options: { timeoutMs?: number } = {},
): Promise<EnginePlatforms & { workersError?: string }> {
  const native = await engineNativePlatform(connection);
  try {
    const supported = await engineBuildPlatforms(connection, options);
    return { native, supported: supported.some((p) => samePlatform(p, native)) ? supported : [native, ...supported] };
  } catch (error) {
    return { native, supported: [native], workersError: (error as Error).message };
  }
}

/** Why one engine cannot build some platforms: `the engine <name> cannot run that platform; it builds for <list>`. */
export function cannotRunReason(engineName: string, missing: readonly string[], engine: EnginePlatforms): string {
  return `the engine ${engineName} cannot run ${missing.length === 1 ? "that platform" : "those platforms"}; it builds for ${engine.supported.join(", ")}`;
}

/** The requested platforms the engine cannot build (not its own, and not among its BuildKit worker's). */
export function unsupportedPlatforms(requested: readonly string[], engine: EnginePlatforms): string[] {
  return requested.filter((platform) => !engine.supported.some((p) => samePlatform(p, platform)));
}

/** QEMU's names for Go's architectures, where they differ (qemu-aarch64 runs arm64). */
const QEMU_NAMES: Record<string, string> = { amd64: "x86_64", arm64: "aarch64", "386": "i386", arm: "arm", mips64le: "mips64el", loong64: "loongarch64" };

/**
 * The error for platforms an engine cannot build, raised before anything is built: which ones, why (`because`, e.g.
 * `the engine X cannot run that platform; it builds for ...`, from `cannotRunReason`), and how to give it an emulator.
 */
export function unsupportedPlatformError(image: Image, missing: readonly string[], because: string): ImageSpecError {
  const qemu = QEMU_NAMES[parsePlatform(missing[0] ?? "").architecture] ?? parsePlatform(missing[0] ?? "").architecture;
  return new ImageSpecError("ENVIRONMENT", `Cannot build ${image.name} for ${missing.join(", ")}: ${because}`, {
    field: "platform",
    value: missing.length === 1 ? missing[0] : missing,
    hint:
      `Register QEMU user emulation on the engine's host (Debian/Ubuntu: apt-get install qemu-user-static, then ` +
      `write /usr/lib/binfmt.d/qemu-${qemu}.conf to /proc/sys/fs/binfmt_misc/register), ` +
      "or build on an engine of that platform, or leave the platform out.",
  });
}
