/**
 * Typed errors. Every error imagespec throws on purpose is an ImageSpecError with a stable `code`.
 * `instanceof` breaks when two copies of @imagespec/core are installed, so recognition goes through a
 * `Symbol.for` marker that every copy shares.
 */

const MARKER = Symbol.for("imagespec.error");

export type ErrorCode =
  /** A definition or a value in it is invalid (CLI exit 2). */
  | "INVALID_SPEC"
  /** A file or folder that a definition names cannot be read (CLI exit 2). */
  | "FILE_NOT_FOUND"
  /** A file changed between computing the tag and sending it to a build: the build would not be what the tag says. */
  | "FILE_CHANGED"
  /** An operation is not allowed on this image, e.g. adding layers to an image built from a Dockerfile. */
  | "NOT_EXTENDABLE"
  /** No registered builder can build an image (CLI exit 2). */
  | "NO_BUILDER"
  /** A builder ran and the build failed (CLI exit 1). */
  | "BUILD_FAILED"
  /** A registry answered with an error or could not be reached (CLI exit 3). */
  | "REGISTRY_ERROR"
  /** Credentials could not be read or were refused. */
  | "AUTH_ERROR"
  /** A plugin could not be loaded or is malformed. */
  | "PLUGIN_ERROR"
  /** The configuration file is invalid or could not be loaded. */
  | "CONFIG_ERROR"
  /** Something outside imagespec is missing: a Docker engine, a binary, a python interpreter (CLI exit 3). */
  | "ENVIRONMENT"
  /** The operation was cancelled through an AbortSignal. */
  | "CANCELLED";

export interface ImageSpecErrorDetails {
  /** Field path inside the definition, e.g. `packages[2]` or `layers[3].src`. */
  field?: string;
  /** The offending value, as the user wrote it. */
  value?: unknown;
  /** What to do about it. */
  hint?: string;
  /** Every individual problem when several were found at once (validation reports all of them). */
  issues?: readonly ValidationIssue[];
  cause?: unknown;
}

export interface ValidationIssue {
  field: string;
  value: unknown;
  message: string;
}

export class ImageSpecError extends Error {
  readonly code: ErrorCode;
  readonly field?: string;
  readonly value?: unknown;
  readonly hint?: string;
  readonly issues: readonly ValidationIssue[];

  constructor(code: ErrorCode, message: string, details: ImageSpecErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ImageSpecError";
    this.code = code;
    if (details.field !== undefined) this.field = details.field;
    if (details.value !== undefined) this.value = details.value;
    if (details.hint !== undefined) this.hint = details.hint;
    this.issues = details.issues ?? [];
    Object.defineProperty(this, MARKER, { value: true });
  }

  /** JSON form for `--json` output: code, message, field, value, hint, issues. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.field !== undefined && { field: this.field }),
      ...(this.value !== undefined && { value: this.value }),
      ...(this.hint !== undefined && { hint: this.hint }),
      ...(this.issues.length > 0 && { issues: this.issues }),
    };
  }
}

/** True for an ImageSpecError from any copy of @imagespec/core. */
export function isImageSpecError(error: unknown): error is ImageSpecError {
  return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
}

/**
 * Characters that would act on a terminal or reorder what is shown rather than show themselves: C0 and C1 controls,
 * DEL, bidirectional overrides and isolates, zero-width characters, line and paragraph separators, the BOM.
 */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|\p{Cs}/gu;

/**
 * Text made safe to print: every character of `UNPRINTABLE` (and half of a surrogate pair) becomes a `\uXXXX`
 * escape; newlines and tabs stay. The CLI passes every message through it, so a hostile value in an error cannot
 * move the cursor, ring the bell or flip the text around it.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Values longer than this are cut in messages (the error's `value` keeps all of it). */
const SHOWN_LENGTH = 240;

/** Renders a value for an error message: strings quoted, everything else as compact JSON; unprintable characters escaped. */
export function showValue(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > SHOWN_LENGTH ? `${JSON.stringify(value.slice(0, SHOWN_LENGTH))}... (${value.length} characters)` : JSON.stringify(value);
    return printable(shown);
  }
  if (value === undefined) return "undefined";
  try {
    const text = JSON.stringify(value);
    return printable(text.length > 200 ? `${text.slice(0, 197)}...` : text);
  } catch {
    return printable(String(value));
  }
}

/** The message of anything thrown, for reasons and logs. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
