/**
 * A BuildKit session of our own, the client side of what `docker build` and buildx open: `POST /session` on the
 * Engine API with `Upgrade: h2c` and the `X-Docker-Expose-Session-*` headers (id, name, shared key, and one
 * `...-Grpc-Method` header per method we serve). The engine answers 101 and from then on the connection is HTTP/2
 * with the roles reversed: the engine is the gRPC client and calls us. We serve those calls with grpc-js on the
 * upgraded connection (a connection injector, no listening socket), whichever way the engine was reached: a unix
 * socket, TCP with mutual TLS, or an SSH channel running `docker system dial-stdio`.
 *
 * A build names the session with `session=<id>`; BuildKit keeps it while the health service answers (it asks every
 * second) and calls it for registry credentials, secrets, SSH agents and the files of the context and Dockerfile.
 */

import { randomBytes } from "node:crypto";
import { Duplex } from "node:stream";
import * as grpc from "@grpc/grpc-js";
import type { ContextEntry } from "../context-entries.js";
import type { EngineConnection } from "../engine-api.js";
import { authService, type SessionCredentials } from "./auth.js";
import { type FileSyncStats, prepareFileSync, serveDiffCopy } from "./filesync.js";
import { pipelinedMessages } from "./pipeline.js";
import { type Message, methodPath, serviceDefinition } from "./proto.js";
import { type SecretSource, secretsService } from "./secrets.js";
import { type SshAgentSource, sshService } from "./ssh.js";

const HEALTH = "grpc.health.v1.Health";
const AUTH = "moby.filesync.v1.Auth";
const SECRETS = "moby.buildkit.secrets.v1.Secrets";
const SSH = "moby.sshforward.v1.SSH";
const FILESYNC = "moby.filesync.v1.FileSync";

/** The methods the session tells the engine it serves (the token-authority ones are answered UNIMPLEMENTED, unlisted). */
const ADVERTISED = [
  methodPath(HEALTH, "Check"),
  methodPath(AUTH, "Credentials"),
  methodPath(SECRETS, "GetSecret"),
  methodPath(SSH, "CheckAgent"),
  methodPath(SSH, "ForwardAgent"),
  methodPath(FILESYNC, "DiffCopy"),
];

/** gRPC's framing before every message: a compression flag and a 4-byte length. */
const GRPC_FRAME = 5;

export interface SessionOptions {
  /** Shown by the engine for the session (`docker build` uses the context folder's name). */
  readonly name: string;
  /**
   * Keys the engine's copies of the synced folders: the next session with the same key sends only what changed.
   * Two sessions must share a key only when their folders are meant to be the same folder.
   */
  readonly sharedKey: string;
  readonly credentials: SessionCredentials;
  readonly secrets: ReadonlyMap<string, SecretSource>;
  readonly ssh: ReadonlyMap<string, SshAgentSource>;
  /** Synced folders by the name BuildKit asks for (`context`, `dockerfile`). */
  readonly dirs: ReadonlyMap<string, readonly ContextEntry[]>;
  /** Where environment-variable secrets are read. */
  readonly env: NodeJS.ProcessEnv;
  /** What the engine asked for, for the build log (never a value). */
  readonly trace?: (line: string) => void;
}

export interface BuildSession {
  /** The id a build names with `session=<id>`. */
  readonly id: string;
  readonly fileSync: FileSyncStats;
  /** A file the session could not send as listed: the build must fail with this, whatever the engine says. */
  failure(): Error | undefined;
  /** Closes the connection; the engine ends the session (and any build still using it). */
  close(): void;
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>;
  /**
   * Whether the engine closed the session's connection before we did. BuildKit ends a session whose health check
   * goes unanswered for about ten seconds (this process blocked or starved of CPU), and a later step that needs the
   * session then fails. Ask after `close()` has settled: the engine's close may arrive with the build's last answer.
   */
  endedByEngine(): boolean;
}

/** Opens the upgraded connection: resolves to the raw socket (or SSH channel), or rejects with the engine's answer. */
function dialSession(connection: EngineConnection, headers: Record<string, string | string[]>): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    connection.docker.modem.dial(
      {
        path: "/session",
        method: "POST",
        hijack: true,
        // An empty body with a length, so nothing (such as a chunked-encoding terminator) follows the request.
        file: Buffer.alloc(0),
        headers: { ...headers, "Content-Type": "application/octet-stream", Upgrade: "h2c" },
        statusCodes: { 101: true, 200: true, 400: "bad parameter", 404: "no session endpoint", 500: "server error" },
      },
      (error, socket) => {
        if (error) reject(error);
        else if (!socket || typeof (socket as Duplex).pipe !== "function") reject(new Error("the engine did not switch the connection to HTTP/2"));
        else resolve(socket as unknown as Duplex);
      },
    );
  });
}

/**
 * Node's HTTP/2 server takes a TLS socket that negotiated no ALPN protocol for HTTP/1.1 and drops it; the upgraded
 * connection to a TLS engine is exactly that. Handed over as a plain stream, it is taken as any other.
 */
function asPlainStream(socket: Duplex): Duplex {
  if ((socket as { encrypted?: boolean }).encrypted !== true) return socket;
  const plain = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, encoding, callback) {
      socket.write(chunk, encoding, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(error, callback) {
      socket.destroy(error ?? undefined);
      callback(error);
    },
  });
  socket.on("data", (chunk: Buffer) => {
    if (!plain.push(chunk)) socket.pause();
  });
  socket.on("end", () => plain.push(null));
  socket.on("close", () => plain.destroy());
  return plain;
}

export async function openSession(connection: EngineConnection, options: SessionOptions): Promise<BuildSession> {
  const id = randomBytes(16).toString("hex");
  const trace = options.trace ?? (() => {});
  const fileSync: FileSyncStats = { transfers: [], wireBytes: 0 };
  let failure: Error | undefined;

  const server = new grpc.Server({
    "grpc.max_receive_message_length": 32 * 1024 * 1024,
    "grpc.max_send_message_length": 32 * 1024 * 1024,
    interceptors: [pipelinedMessages],
  });
  const health = serviceDefinition(HEALTH);
  server.addService(health, { Check: (_call: unknown, callback: grpc.sendUnaryData<Message>) => callback(null, { status: 1 /* SERVING */ }) });
  server.addService(serviceDefinition(AUTH), { ...authService(options.credentials, trace) });
  server.addService(serviceDefinition(SECRETS), { ...secretsService(options.secrets, options.env, trace) });
  server.addService(serviceDefinition(SSH), { ...sshService(options.ssh, trace) });
  const filesync = serviceDefinition(FILESYNC);
  const diffCopy = filesync.DiffCopy!;
  // Count what file sync writes, message by message, for the build log and the incremental-context bench.
  const serialize = diffCopy.responseSerialize;
  server.addService(
    { DiffCopy: { ...diffCopy, responseSerialize: (value: Message | Buffer) => countWire(Buffer.isBuffer(value) ? value : serialize(value)) } },
    {
      DiffCopy: (call: grpc.ServerDuplexStream<Message, Message | Buffer>) => {
        void serveDiffCopy(
          call,
          options.dirs,
          fileSync,
          (error) => {
            failure ??= error;
          },
          trace,
        );
      },
    },
  );
  function countWire(bytes: Buffer): Buffer {
    fileSync.wireBytes += bytes.length + GRPC_FRAME;
    return bytes;
  }

  let socket: Duplex;
  try {
    socket = await dialSession(connection, {
      "X-Docker-Expose-Session-Uuid": id,
      "X-Docker-Expose-Session-Name": options.name,
      "X-Docker-Expose-Session-Sharedkey": options.sharedKey,
      "X-Docker-Expose-Session-Grpc-Method": ADVERTISED,
    });
  } catch (error) {
    server.forceShutdown();
    throw error;
  }
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  let closing = false;
  // Set when our own teardown runs (after the current ticks, see close()): a close before that is the engine's.
  let tornDown = false;
  let endedByEngine = false;
  const closed = new Promise<void>((resolve) => {
    socket.once("close", () => {
      if (!tornDown) endedByEngine = true;
      resolve();
    });
  });
  socket.on("error", () => {
    // A connection reset ends the session; the build that used it reports what happened.
  });
  injector.injectConnection(asPlainStream(socket) as never);
  prepareFileSync(options.dirs);

  return {
    id,
    fileSync,
    failure: () => failure,
    endedByEngine: () => endedByEngine,
    close() {
      if (closing) return;
      closing = true;
      // After the current ticks: Node's HTTP/2 session feeds bytes that arrived with the upgrade to its handle on
      // the next tick, and throws an uncaught TypeError if it was destroyed in between (an abort right after
      // the session opened).
      setImmediate(() => {
        tornDown = true;
        injector.destroy();
        server.forceShutdown();
        socket.destroy();
      });
    },
    closed,
  };
}
