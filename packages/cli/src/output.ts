/**
 * Where output goes and how it looks. Results go to stdout (with --json, one JSON document and nothing else);
 * progress, warnings and errors go to stderr. Colour follows NO_COLOR / FORCE_COLOR / TERM=dumb; live progress
 * needs a terminal on stderr and no CI.
 */

export interface Styles {
  readonly bold: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly cyan: (s: string) => string;
}

const code = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const plain = (s: string) => s;

/** Where output is written: the process's streams, or (a test running `main` in-process) anything with `write`. */
export interface Streams {
  readonly stdout: Pick<NodeJS.WriteStream, "write"> & { readonly isTTY?: boolean };
  readonly stderr: Pick<NodeJS.WriteStream, "write"> & { readonly isTTY?: boolean; readonly columns?: number; readonly rows?: number };
}

export class Output {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: Streams["stdout"];
  readonly stderr: Streams["stderr"];
  readonly json: boolean;
  readonly debug: boolean;
  /** Colours on stderr. */
  readonly style: Styles;
  /** Redraw progress in place (stderr is a terminal, not CI, not TERM=dumb). */
  readonly live: boolean;

  constructor(options: { env: NodeJS.ProcessEnv; json: boolean; debug: boolean; streams?: Streams }) {
    this.env = options.env;
    this.json = options.json;
    this.debug = options.debug;
    this.stdout = options.streams?.stdout ?? process.stdout;
    this.stderr = options.streams?.stderr ?? process.stderr;
    const tty = this.stderr.isTTY === true && options.env.TERM !== "dumb";
    this.live = tty && !isCI(options.env);
    this.style = useColor(options.env, tty)
      ? { bold: code(1, 22), dim: code(2, 22), red: code(31, 39), green: code(32, 39), yellow: code(33, 39), cyan: code(36, 39) }
      : { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain };
  }

  /** A result line (or block) on stdout. */
  out(text: string): void {
    this.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** The --json document. */
  outJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Progress and diagnostics on stderr, made safe for a terminal (`terminalSafe`). */
  err(text: string): void {
    const safe = terminalSafe(text);
    this.stderr.write(safe.endsWith("\n") ? safe : `${safe}\n`);
  }

  warn(message: string): void {
    this.err(`${this.style.yellow("warning:")} ${message}`);
  }
}

/**
 * Characters that act on a terminal or reorder text instead of showing themselves: C0/C1 controls but newline and
 * tab, DEL, bidirectional overrides and isolates, zero-width characters, line and paragraph separators, the BOM, and
 * half of a surrogate pair. The same set core's `printable` escapes in its messages.
 */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|\p{Cs}/gu;
/** Colour (SGR) sequences are kept: ours, and those in build logs. */
const SGR = /\x1b\[[0-9;]*m/y;

/**
 * Text safe to write to a terminal: every unprintable character becomes `\uXXXX`, except colour sequences, so a value
 * in an error or a line of a build log cannot move the cursor, clear the screen, ring the bell or flip what is shown.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNPRINTABLE, (char, offset: number) => {
    if (char === "\x1b") {
      SGR.lastIndex = offset;
      if (SGR.test(text)) return char;
    }
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

export function isCI(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

/** NO_COLOR (any non-empty value) wins, then FORCE_COLOR, then whether stderr is a terminal. */
export function useColor(env: NodeJS.ProcessEnv, tty: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0" && force.toLowerCase() !== "false";
  return tty;
}

/** Resolves once everything written so far has been handed to the OS, so exiting does not cut output off. */
export function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write("", () => resolve());
  });
}
