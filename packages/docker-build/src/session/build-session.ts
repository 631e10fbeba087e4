/**
 * The session one build opens: its secrets and SSH agents resolved (and checked before anything is built), the
 * context as the tag listed it (`contextEntries`, the same entries the tar path sends), the Dockerfile offered on its
 * own, registry credentials from the builder's resolver, and a shared key that lets the engine keep the context
 * between builds and ask only for what changed.
 */

import { createHash } from "node:crypto";
import { access } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Image } from "@imagespec/core";
import { type CredentialResolver, DEFAULT_SSH_ID, type ImageIdentity, ImageSpecError } from "@imagespec/core/authoring";
import { type ContextEntry, contextEntries } from "../context-entries.js";
import type { EngineConnection } from "../engine-api.js";
import type { DockerBuildPlan } from "../plan.js";
import type { SessionCredentials } from "./auth.js";
import type { SecretSource } from "./secrets.js";
import { type BuildSession, openSession } from "./session.js";
import type { SshAgentSource } from "./ssh.js";

export interface SessionSources {
  readonly secrets: ReadonlyMap<string, SecretSource>;
  readonly ssh: ReadonlyMap<string, SshAgentSource>;
}

/**
 * Where each secret's value and each SSH forward's agent is, checked now: a file that does not exist, a variable that
 * is not set or an agent that is not running is an ENVIRONMENT error before the build, naming every one of them.
 * Values are not read here (only when a step asks).
 */
export async function sessionSources(image: Image, plan: Pick<DockerBuildPlan, "secrets" | "ssh">, env: NodeJS.ProcessEnv): Promise<SessionSources> {
  const problems: string[] = [];
  const fields = new Set<string>();
  const exists = (file: string) =>
    access(file).then(
      () => true,
      () => false,
    );
  const secrets = new Map<string, SecretSource>();
  for (const secret of plan.secrets) {
    if (secret.src !== undefined) {
      const file = path.resolve(image.root, secret.src);
      if (!(await exists(file))) {
        problems.push(`secret ${secret.id}: the file ${file} does not exist`);
        fields.add("secretMounts");
      }
      secrets.set(secret.id, { file });
    } else {
      const variable = secret.env ?? secret.id;
      if (env[variable] === undefined) {
        problems.push(`secret ${secret.id}: the environment variable ${variable} is not set`);
        fields.add("secretMounts");
      }
      secrets.set(secret.id, { env: variable });
    }
  }
  const ssh = new Map<string, SshAgentSource>();
  for (const forward of plan.ssh) {
    const id = forward.id || DEFAULT_SSH_ID;
    if (forward.keys !== undefined) {
      const keyFiles = forward.keys.map((key) => path.resolve(image.root, key.replace(/^~(?=\/|$)/, env.HOME || os.homedir())));
      for (const file of keyFiles) {
        if (!(await exists(file))) {
          problems.push(`SSH mount ${id}: the key file ${file} does not exist`);
          fields.add("sshMounts");
        }
      }
      ssh.set(id, { keyFiles });
    } else {
      const socket = env.SSH_AUTH_SOCK;
      if (!socket) problems.push(`SSH mount ${id}: SSH_AUTH_SOCK is not set, so there is no SSH agent to forward`);
      else if (!(await exists(socket))) problems.push(`SSH mount ${id}: the SSH agent socket ${socket} (SSH_AUTH_SOCK) does not exist`);
      if (!socket || !(await exists(socket))) fields.add("sshMounts");
      ssh.set(id, { socket: socket ?? "" });
    }
  }
  if (problems.length > 0) {
    throw new ImageSpecError("ENVIRONMENT", `Cannot build ${image.name}: ${problems.join("; ")}`, {
      field: [...fields].join(", "),
      hint: fields.has("sshMounts")
        ? "Start an SSH agent with your key (eval $(ssh-agent); ssh-add), or give the mount its key files (sshMounts: [{ keys: [...] }]). Secret values are read when the build runs: set the variable or create the file."
        : "Secret values are read when the build runs: set the variable or create the file (it never enters the image, the tag or the log).",
    });
  }
  return { secrets, ssh };
}

/** Registry credentials for the session, from the builder's resolver, as BuildKit takes them. */
export function sessionCredentials(resolver: CredentialResolver): SessionCredentials {
  return async (host) => {
    const found = await resolver(host);
    if (found === undefined) return undefined;
    // As the docker CLI answers: an identity token goes as the secret with no username.
    if (found.identityToken !== undefined) return { username: "", secret: found.identityToken };
    return { username: found.username ?? "", secret: found.password ?? "" };
  };
}

/**
 * The key under which the engine keeps this image's context between builds: this machine and user, the image's folder
 * and name. Two images share a key only when they are the same image; whatever differs between two builds of it is
 * sent again, since every offered time moves with its file's digest (filesync.ts, `offeredTime`).
 */
export function contextSharedKey(image: Image): string {
  return createHash("sha256")
    .update(JSON.stringify(["imagespec build context v1", os.hostname(), process.getuid?.() ?? "", image.root, image.name]))
    .digest("hex");
}

export interface StartedSession {
  readonly session: BuildSession;
  /** Files and bytes of the context as listed. */
  readonly context: { readonly entries: number; readonly files: number; readonly bytes: number };
}

/** Lists the context, resolves the sources and opens the session the build will name. */
export async function startBuildSession(
  connection: EngineConnection,
  image: Image,
  plan: DockerBuildPlan,
  options: {
    /** The image's identity: the entries its tag was computed from. */
    readonly identity: ImageIdentity;
    readonly credentials: CredentialResolver;
    readonly env: NodeJS.ProcessEnv;
    readonly sources: SessionSources;
    readonly trace: (line: string) => void;
  },
): Promise<StartedSession> {
  // The Dockerfile travels as its own folder (BuildKit's `dockerfile` source), not in the context.
  const isDockerfile = (item: DockerBuildPlan["context"][number]) => item.type === "content" && item.path === plan.dockerfileName;
  const entries = contextEntries(
    plan.context.filter((item) => !isDockerfile(item)),
    image,
    options.identity,
    { env: options.env },
  );
  const dockerfile = plan.context.find(isDockerfile);
  const content = dockerfile?.type === "content" ? dockerfile.content : Buffer.from(plan.dockerfile, "utf8");
  const dockerfileEntry: ContextEntry = { type: "file", name: plan.dockerfileName, mode: 0o644, size: content.byteLength, mtime: new Date(0), content };
  const session = await openSession(connection, {
    name: `imagespec ${image.name}`,
    sharedKey: contextSharedKey(image),
    credentials: sessionCredentials(options.credentials),
    secrets: options.sources.secrets,
    ssh: options.sources.ssh,
    dirs: new Map([
      ["context", entries],
      ["dockerfile", [dockerfileEntry]],
    ]),
    env: options.env,
    trace: options.trace,
  });
  let files = 0;
  let bytes = 0;
  for (const entry of entries) {
    if (entry.type !== "file") continue;
    files++;
    bytes += entry.size;
  }
  return { session, context: { entries: entries.length, files, bytes } };
}
