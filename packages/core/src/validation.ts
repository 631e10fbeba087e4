/**
 * The glue between the grammars and zod: string schemas that run a grammar check, and the conversion of zod
 * issues into errors that name the field path, the value and what was expected.
 */

import * as z from "zod";
import { ImageSpecError, showValue, type ValidationIssue } from "./errors.js";
import { textProblem } from "./quote.js";
import { closestMatch } from "./suggest.js";

/** A string schema checked by one of the grammar functions (undefined = valid, else the reason). */
export function grammarString(check: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** Formats a zod path as users write it: `packages[1]`, `env.FOO`, `pipSecretMounts[0].id`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && /^[A-Za-z_$][\w$]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/**
 * The deepest part of `path` that exists in the input, and the value there. A transformed value (a comma-separated
 * platform string split into a list) has no `[0]` in the input, so the error points at the string itself.
 */
function locate(root: unknown, path: readonly PropertyKey[]): { path: PropertyKey[]; value: unknown } {
  let current = root;
  const found: PropertyKey[] = [];
  for (const part of path) {
    if (current === null || typeof current !== "object" || !(part in (current as object))) break;
    current = (current as Record<PropertyKey, unknown>)[part];
    found.push(part);
  }
  return { path: found, value: current };
}

/** The value at a zod issue's path in the input (undefined where the input has nothing there), for error messages. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  const at = locate(input, path);
  return at.path.length === path.length ? at.value : undefined;
}

/**
 * Turns zod issues into our issues, with the value each one points at and a message that says what was expected.
 * The one mapper: builders and layer packages report their own schemas' issues through it too.
 */
export function zodIssuesToValidation(issues: readonly z.core.$ZodIssue[], input: unknown, knownKeys?: readonly string[]): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const suggestion = issue.path.length === 0 && knownKeys ? closestMatch(key, knownKeys) : undefined;
        out.push({
          field: formatFieldPath(path),
          value: locate(input, path).value,
          message: `is not a known field${suggestion ? `; did you mean ${suggestion}?` : ""}`,
        });
      }
      continue;
    }
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Report the branch that got furthest rather than "invalid input".
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0]!;
      out.push(
        ...zodIssuesToValidation(
          best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })),
          input,
          knownKeys,
        ),
      );
      continue;
    }
    if (issue.code === "invalid_key") {
      // The key itself is what is wrong: show it, with the reason its own check gave.
      const key = issue.path.at(-1);
      out.push({ field: formatFieldPath(issue.path), value: key, message: `the name is invalid: ${issue.issues.map((i) => i.message).join("; ")}` });
      continue;
    }
    const at = locate(input, issue.path);
    out.push({ field: formatFieldPath(at.path), value: at.value, message: describeIssue(issue, at.value) });
  }
  return dedupe(out);
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length + (i.code === "invalid_type" ? 0 : 0.5)));
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.field}\0${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case "invalid_type": {
      const expected = `expected ${issue.expected === "array" ? "a list" : issue.expected === "object" ? "a mapping" : `a ${issue.expected}`}`;
      // `pythonVersion: 3.10` is the number 3.1: the version has to be written as text.
      if (issue.expected === "string" && typeof value === "number") return `${expected}; quote it: ${JSON.stringify(String(value))}`;
      return expected;
    }
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => showValue(v)).join(", ")}`;
    case "too_small":
      return issue.origin === "array" ? `expected at least ${issue.minimum} item(s)` : issue.origin === "string" ? "cannot be empty" : issue.message;
    default:
      return issue.message;
  }
}

/**
 * Parses `input` with `schema` or throws one INVALID_SPEC error that lists every problem
 * ("Cannot create ImageSpec: packages[1] = "numpy>>1": ...").
 */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, action: string, knownKeys?: readonly string[]): T {
  const broken = illFormedText(input);
  const result = schema.safeParse(input);
  if (result.success && broken.length === 0) return result.data;
  throw invalid(action, withIllFormed(broken, result.success ? [] : zodIssuesToValidation(result.error.issues, input, knownKeys)));
}

/**
 * Every string in a definition (keys too) that holds half of a UTF-16 surrogate pair: such text has no UTF-8 form, so
 * it would reach the image as U+FFFD, not as written. Checked at every front door, whatever the field.
 */
export function illFormedText(input: unknown, at: readonly PropertyKey[] = [], out: ValidationIssue[] = [], seen = new Set<object>()): ValidationIssue[] {
  if (typeof input === "string") {
    const problem = textProblem(input);
    if (problem !== undefined) out.push({ field: formatFieldPath(at), value: input, message: problem });
  } else if (typeof input === "object" && input !== null && !seen.has(input) && (Array.isArray(input) || Object.getPrototypeOf(input) === Object.prototype)) {
    seen.add(input);
    for (const [key, value] of Object.entries(input)) {
      const path = [...at, Array.isArray(input) ? Number(key) : key];
      const keyProblem = Array.isArray(input) ? undefined : textProblem(key);
      if (keyProblem !== undefined) out.push({ field: formatFieldPath(path), value: key, message: `the name ${keyProblem.replace(/^it /, "")}` });
      illFormedText(value, path, out, seen);
    }
  }
  return out;
}

/** Ill-formed strings first; a field reported for one is not reported again by its grammar. */
export function withIllFormed(broken: readonly ValidationIssue[], issues: readonly ValidationIssue[]): ValidationIssue[] {
  const fields = new Set(broken.map((i) => i.field));
  return [...broken, ...issues.filter((i) => !fields.has(i.field))];
}

export function invalid(action: string, issues: readonly ValidationIssue[]): ImageSpecError {
  const lines = issues.map((i) => `${i.field || "(value)"} = ${showValue(i.value)}: ${i.message}`);
  const message =
    lines.length === 1 ? `Cannot ${action}: ${lines[0]}` : `Cannot ${action}: ${lines.length} invalid fields:\n${lines.map((l) => `  - ${l}`).join("\n")}`;
  return new ImageSpecError("INVALID_SPEC", message, { field: issues[0]?.field, value: issues[0]?.value, issues });
}
