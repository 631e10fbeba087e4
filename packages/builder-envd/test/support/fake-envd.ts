import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/**
 * A stand-in `envd` executable (a bash script) for the tests: envd itself cannot be installed on the test machines.
 * It records each invocation's arguments, copies the build context it is given before the builder deletes it,
 * and answers `version` and `build` as told.
 */
export interface FakeEnvdOptions {
  /** What `envd version` prints. */
  readonly version?: string;
  readonly versionExit?: number;
  /** Lines `envd build` prints on stdout, then on stderr. */
  readonly buildOutput?: readonly string[];
  readonly buildStderr?: readonly string[];
  readonly buildExit?: number;
  /** Seconds `envd build` sleeps after printing (for cancellation). */
  readonly buildSleep?: number;
}

export interface FakeEnvd {
  /** The folder holding the `envd` script: put it first on PATH. */
  readonly dir: string;
  readonly binary: string;
  /** Arguments of each invocation, in order. */
  calls(): Promise<string[][]>;
  /** The build context of the last `envd build`, as it was when envd ran. */
  readonly contextCopy: string;
  /** DOCKER_CONFIG as the last invocation saw it (`<unset>` when it was not set). */
  dockerConfig(): Promise<string>;
}

const created: string[] = [];

/** Removes every fake envd this test file created. */
export async function removeFakeEnvds(): Promise<void> {
  for (const dir of created.splice(0)) await rm(dir, { recursive: true, force: true });
}

export async function createFakeEnvd(options: FakeEnvdOptions = {}): Promise<FakeEnvd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fake-envd-"));
  created.push(dir);
  const callsDir = path.join(dir, "calls");
  await mkdir(callsDir);
  const contextCopy = path.join(dir, "context-copy");
  const version = options.version ?? "envd: v0.3.45\nBuildDate: 2024-03-13T09:03:52Z\nGitCommit: 0123abc\nGoVersion: go1.21.8\nPlatform: linux/amd64";
  const lines = [
    ...(options.buildOutput ?? []).map((line) => `printf '%s\\n' ${bashWord(line)}`),
    ...(options.buildStderr ?? []).map((line) => `printf '%s\\n' ${bashWord(line)} >&2`),
  ].join("\n");
  // Its own PATH for the tools it uses: tests run it with PATH pointing nowhere.
  const script = `#!/bin/bash
export PATH=/usr/local/bin:/usr/bin:/bin
n=$(ls ${bashWord(callsDir)} | wc -l)
printf '%s\\0' "$@" > ${bashWord(callsDir)}/$(printf '%04d' "$n")
printf '%s' "\${DOCKER_CONFIG-<unset>}" > ${bashWord(path.join(dir, "docker-config"))}
case "$1" in
  version)
    printf '%s\\n' ${bashWord(version)}
    exit ${options.versionExit ?? 0}
    ;;
  build)
    while [ $# -gt 0 ]; do
      if [ "$1" = "--path" ]; then rm -rf ${bashWord(contextCopy)}; cp -a "$2" ${bashWord(contextCopy)}; fi
      shift
    done
${lines}
    ${options.buildSleep ? `exec sleep ${options.buildSleep}` : ""}
    exit ${options.buildExit ?? 0}
    ;;
esac
echo "fake envd: unexpected command $1" >&2
exit 64
`;
  const binary = path.join(dir, "envd");
  await writeFile(binary, script);
  await chmod(binary, 0o755);
  return {
    dir,
    binary,
    contextCopy,
    dockerConfig: () => readFile(path.join(dir, "docker-config"), "utf8"),
    async calls() {
      const files = (await readdir(callsDir)).sort();
      return Promise.all(files.map(async (f) => (await readFile(path.join(callsDir, f), "utf8")).split("\0").slice(0, -1)));
    },
  };
}

function bashWord(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}
