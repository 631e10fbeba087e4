/**
 * vitest globalSetup: brings the real test environment up (`scripts/test-env up`: Docker engine,
 * local registries, seeded Python base image) and exports its settings into process.env, which
 * the test workers inherit. Tests that need Docker therefore fail loudly when it cannot start;
 * they never skip.
 *
 *   // vitest.config.ts
 *   test: { globalSetup: ["../../tools/test-env/global-setup.ts"], hookTimeout: 600_000 }
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const script = path.join(repoRoot, "scripts", "test-env");

/** Longest a cold start may take (apt-get install + debootstrap + import + push). */
const UP_TIMEOUT_MS = 30 * 60_000;

function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export default async function setup(): Promise<void> {
  // Progress goes to our stderr live (a cold start takes a minute or more) and is kept for the error.
  const result = await execa("bash", [script, "up"], {
    reject: false,
    stdin: "ignore",
    stdout: "pipe",
    stderr: ["pipe", "inherit"],
    timeout: UP_TIMEOUT_MS,
  });
  if (result.failed) {
    const why = result.timedOut
      ? `it did not finish within ${UP_TIMEOUT_MS / 60_000} minutes`
      : `\`bash scripts/test-env up\` exited with ${result.exitCode ?? result.signal ?? "an error"}`;
    throw new Error(
      `Cannot start the test environment: ${why}.\n${tail(String(result.stderr ?? ""))}\n` +
        `Run \`scripts/test-env up\` in ${repoRoot} to see the whole output; tests that need Docker cannot run without it.`,
    );
  }

  const envDir = process.env.IMAGESPEC_TEST_ENV_DIR || "/tmp/imagespec-test-env";
  const envFile = path.join(envDir, "env.json");
  let values: Record<string, unknown>;
  try {
    values = JSON.parse(await readFile(envFile, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new Error(
      `Cannot start the test environment: scripts/test-env up succeeded but ${envFile} is unreadable (${(error as Error).message}).`,
    );
  }
  for (const [key, value] of Object.entries(values)) {
    if (typeof value === "string") process.env[key] = value;
  }
}
