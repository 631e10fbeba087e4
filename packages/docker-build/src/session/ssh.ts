/**
 * SSH agent forwarding (`moby.sshforward.v1.SSH`): a step with `--mount=type=ssh,id=<id>` gets a socket; every
 * connection a program in the step opens to it becomes one ForwardAgent call, whose bytes we carry to an agent on
 * this machine. The agent is the one `SSH_AUTH_SOCK` names, or, for a forward given key files, an agent of our own
 * that holds only those keys (in memory, read from the files when the step first asks) and signs with them.
 * Nothing of the keys reaches the engine except signatures and public keys, exactly as with `ssh -A`.
 */

import { createConnection } from "node:net";
import { readFile } from "node:fs/promises";
import type { Duplex } from "node:stream";
import { type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData, status } from "@grpc/grpc-js";
import ssh2 from "ssh2";
import type { Message } from "./proto.js";

/** Where one forward's agent is: a socket (an ssh-agent), or key files held by an agent of our own. */
export type SshAgentSource = { readonly socket: string } | { readonly keyFiles: readonly string[] };

/** BuildKit's default id, for `--mount=type=ssh` without one. */
export const DEFAULT_SSH_ID = "default";

/** The metadata key that names the forward of a ForwardAgent call. */
const SSH_ID_KEY = "buildkit.ssh.id";

type ParsedKey = ssh2.ParsedKey;

/** Reads and parses key files, once per source; an error names the file. */
class KeyRing {
  #keys: Promise<ParsedKey[]> | undefined;
  constructor(readonly files: readonly string[]) {}

  load(): Promise<ParsedKey[]> {
    this.#keys ??= Promise.all(
      this.files.map(async (file) => {
        let text: Buffer;
        try {
          text = await readFile(file);
        } catch (error) {
          throw new Error(
            `cannot read the SSH key ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : (error as Error).message}`,
          );
        }
        const parsed = ssh2.utils.parseKey(text);
        const key = Array.isArray(parsed) ? parsed[0] : parsed;
        if (key === undefined || key instanceof Error) {
          throw new Error(
            `cannot use the SSH key ${file}: ${key instanceof Error ? key.message : "it holds no key"} (a key with a passphrase must be loaded into ssh-agent instead)`,
          );
        }
        if (!key.isPrivateKey()) throw new Error(`cannot use the SSH key ${file}: it is a public key`);
        return key;
      }),
    );
    return this.#keys;
  }
}

/** An ECDSA signature as SSH wants it (two mpints), from the DER Node's crypto gives. */
function ecdsaSignature(der: Buffer): Buffer {
  // SEQUENCE { INTEGER r, INTEGER s }, short or long length forms.
  let offset = 2;
  if (der[1]! & 0x80) offset = 2 + (der[1]! & 0x7f);
  const integer = () => {
    if (der[offset] !== 0x02) throw new Error("not a DER ECDSA signature");
    const length = der[offset + 1]!;
    const value = der.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    return value;
  };
  const mpint = (value: Buffer) => {
    let v = value;
    while (v.length > 1 && v[0] === 0 && (v[1]! & 0x80) === 0) v = v.subarray(1);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(v.length);
    return Buffer.concat([length, v]);
  };
  return Buffer.concat([mpint(integer()), mpint(integer())]);
}

/** An agent that answers from `ring`: list identities, sign; anything else (adding keys, locking) is refused. */
function keyAgent(ring: KeyRing): Duplex {
  const protocol = new ssh2.AgentProtocol(false);
  protocol.on("identities", (request: unknown) => {
    ring.load().then(
      (keys) => protocol.getIdentitiesReply(request as never, keys),
      () => protocol.failureReply(request as never),
    );
  });
  protocol.on("sign", (request: unknown, publicKey: ParsedKey, data: Buffer, options: { hash?: string }) => {
    ring.load().then(
      (keys) => {
        const wanted = publicKey.getPublicSSH();
        const key = keys.find((k) => k.getPublicSSH().equals(wanted));
        const signature = key?.sign(data, options.hash);
        if (key === undefined || signature === undefined || signature instanceof Error) return protocol.failureReply(request as never);
        protocol.signReply(request as never, key.type.startsWith("ecdsa-") ? ecdsaSignature(signature) : signature);
      },
      () => protocol.failureReply(request as never),
    );
  });
  return protocol as unknown as Duplex;
}

export interface SshService {
  CheckAgent(call: ServerUnaryCall<Message, Message>, callback: sendUnaryData<Message>): void;
  ForwardAgent(call: ServerDuplexStream<Message, Message>): void;
}

export function sshService(sources: ReadonlyMap<string, SshAgentSource>, trace: (line: string) => void): SshService {
  const rings = new Map<string, KeyRing>();
  const ringFor = (id: string, files: readonly string[]) => {
    const ring = rings.get(id) ?? new KeyRing(files);
    rings.set(id, ring);
    return ring;
  };
  return {
    CheckAgent(call, callback) {
      const id = (call.request.ID as string | undefined) || DEFAULT_SSH_ID;
      const source = sources.get(id);
      if (source === undefined) return callback({ code: status.NOT_FOUND, details: `no SSH agent forwarded as ${JSON.stringify(id)}` });
      if ("keyFiles" in source) {
        ringFor(id, source.keyFiles)
          .load()
          .then(
            () => callback(null, {}),
            (error: Error) => callback({ code: status.FAILED_PRECONDITION, details: error.message }),
          );
        return;
      }
      callback(null, {});
    },

    ForwardAgent(call) {
      const id = String(call.metadata.get(SSH_ID_KEY)[0] ?? "") || DEFAULT_SSH_ID;
      const source = sources.get(id);
      if (source === undefined) {
        call.emit("error", { code: status.NOT_FOUND, details: `no SSH agent forwarded as ${JSON.stringify(id)}` });
        return;
      }
      trace(`SSH agent ${id}: a step connected`);
      const agent: Duplex = "socket" in source ? createConnection({ path: source.socket }) : keyAgent(ringFor(id, source.keyFiles));
      let closed = false;
      const close = (error?: Error) => {
        if (closed) return;
        closed = true;
        agent.destroy();
        if (error !== undefined)
          call.emit("error", {
            code: status.UNAVAILABLE,
            details: `the SSH agent ${"socket" in source ? source.socket : "of the key files"} failed: ${error.message}`,
          });
        else call.end();
      };
      agent.on("data", (chunk: Buffer) => {
        if (!call.write({ data: chunk })) agent.pause();
      });
      call.on("drain", () => agent.resume());
      agent.on("error", (error: Error) => close(error));
      agent.on("end", () => close());
      agent.on("close", () => close());
      call.on("data", (message: Message) => {
        const data = message.data as Buffer | undefined;
        if (data !== undefined && data.length > 0 && !agent.write(data)) call.pause();
      });
      agent.on("drain", () => call.resume());
      // The step closed its connection: an ssh-agent socket is half-closed (it answers what is pending), ours just stops.
      call.on("end", () => ("socket" in source ? agent.end() : close()));
      call.on("error", () => close());
      call.on("cancelled", () => close());
    },
  };
}
