/**
 * Exit codes, the contract scripts rely on: 0 success, 1 a build failed, 2 usage or invalid definition,
 * 3 environment (no Docker engine, registry unreachable when it must be reached). Only the CLI turns
 * ImageSpecError codes into exit codes. Recognised through core's `Symbol.for` marker, so this module does
 * not load core, and errors from a second copy of core are recognised too.
 */

import type { ErrorCode } from "@imagespec/core";
import { UsageError } from "./args.js";

export const EXIT = { ok: 0, failed: 1, usage: 2, environment: 3, cancelled: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const ERROR_MARKER = Symbol.for("imagespec.error");

export interface CoreError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly value?: unknown;
  readonly hint?: string;
  readonly issues: readonly { field: string; value: unknown; message: string }[];
  toJSON(): Record<string, unknown> & { code: string; message: string };
}

export function isCoreError(error: unknown): error is CoreError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[ERROR_MARKER] === true;
}

/**
 * The exit code of each of core's error codes. A `Record<ErrorCode, ...>`: when core adds a code, this table stops
 * type-checking until the code has its exit code here (and in help.ts and the README, which list them).
 */
export const EXIT_BY_ERROR_CODE: Readonly<Record<ErrorCode, ExitCode>> = {
  INVALID_SPEC: EXIT.usage,
  FILE_NOT_FOUND: EXIT.usage,
  NOT_EXTENDABLE: EXIT.usage,
  NO_BUILDER: EXIT.usage,
  CONFIG_ERROR: EXIT.usage,
  PLUGIN_ERROR: EXIT.usage,
  BUILD_FAILED: EXIT.failed,
  FILE_CHANGED: EXIT.failed,
  REGISTRY_ERROR: EXIT.environment,
  AUTH_ERROR: EXIT.environment,
  ENVIRONMENT: EXIT.environment,
  CANCELLED: EXIT.cancelled,
};

/** System errors that mean something outside imagespec is missing or unreachable. */
const ENVIRONMENT_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EAI_AGAIN", "ENOTFOUND"]);

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  // A newer core (a second copy in the project) may throw a code this table does not know yet: a failure.
  if (isCoreError(error)) return (EXIT_BY_ERROR_CODE as Readonly<Record<string, ExitCode>>)[error.code] ?? EXIT.failed;
  if (isEnvironmentErrno(error)) return EXIT.environment;
  return EXIT.failed;
}

/** A socket that is not there (`connect ENOENT /var/run/docker.sock`) or refuses: the engine or registry is missing. */
export function isEnvironmentErrno(error: unknown): boolean {
  for (let e = error, depth = 0; typeof e === "object" && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    if (typeof code === "string" && (ENVIRONMENT_ERRNOS.has(code) || (syscall === "connect" && (code === "ENOENT" || code === "EACCES")))) return true;
  }
  return false;
}

/** An error as --json prints it: core's `toJSON()` (code, message, field, value, hint, issues) or the same shape. */
export interface ErrorJson {
  readonly code: string;
  readonly message: string;
  readonly [detail: string]: unknown;
}

/** The JSON form of an error for --json output. */
export function errorJson(error: unknown): ErrorJson {
  if (isCoreError(error)) return error.toJSON();
  if (error instanceof UsageError) return { code: "USAGE", message: error.message };
  return { code: isEnvironmentErrno(error) ? "ENVIRONMENT" : "INTERNAL", message: error instanceof Error ? error.message : String(error) };
}
