/**
 * Hostile text for the attack suite: a fixed list of payloads (instruction and command injection, quoting breakers,
 * terminal controls, Unicode that readers split on, half surrogate pairs) and a seeded generator of random strings
 * built from the same dangerous pieces. The same seed always gives the same strings, so a failure can be replayed.
 */

/** mulberry32: a small, fast, seedable PRNG; plenty for test inputs. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Payloads aimed at every reader imagespec writes for: Dockerfile, sh, JSON, CSV, Starlark, YAML, a terminal. */
export const HOSTILE_PAYLOADS: readonly string[] = [
  "x\nRUN touch /pwned",
  "x\r\nRUN touch /pwned",
  "x\\\nRUN touch /pwned",
  "$(touch /pwned)",
  "`touch /pwned`",
  "${IFS}touch${IFS}/pwned",
  "'; touch /pwned; '",
  '"; touch /pwned; "',
  "\\'\\\"\\\\",
  '"]\nRUN ["touch", "/pwned"]',
  "a,target=/pwned",
  "--mount=type=bind,target=/pwned",
  "# not a comment",
  "a\u00e0touch${IFS}/pwned;#",
  "\u00a0touch /pwned",
  "\u0085touch /pwned",
  "\u2028RUN touch /pwned",
  "\u2029x",
  "x\u202eevil\u202c",
  "\u2066isolate\u2069",
  "\u001b[2J\u001b[31mred\u0007",
  "\u001b]0;title\u0007",
  "\u007fdel",
  "\u200bzero\u200dwidth\ufeff",
  "tab\there",
  "vt\u000bff\u000c",
  "é\u0301 combining",
  "日本語 テキスト",
  "emoji 🐳🧨",
  '"""triple"""',
  "\\x00\\n",
  "%s%n%x",
  "{{.Config}}",
  "../../../../etc/passwd",
  "-rf",
  "  leading and trailing  ",
  "=",
  "A=",
  "*?[glob]",
  "",
];

/** Strings that cannot be written as UTF-8 at all. */
export const ILL_FORMED: readonly string[] = ["lone \ud800 high", "lone \udc00 low", "\udbff"];

const PIECES: readonly string[] = [
  "a",
  "Z",
  "0",
  "_",
  "-",
  ".",
  "/",
  " ",
  "  ",
  ",",
  "=",
  ":",
  "@",
  "%",
  "+",
  "~",
  "#",
  "!",
  "?",
  "*",
  "[",
  "]",
  "{",
  "}",
  "(",
  ")",
  "<",
  ">",
  "|",
  "&",
  ";",
  "^",
  "'",
  '"',
  "`",
  "\\",
  "$",
  "${",
  "$(",
  "\\n",
  "\\\\",
  "\n",
  "\r",
  "\t",
  "\u000b",
  "\u000c",
  "\u001b",
  "\u0007",
  "\u007f",
  "\u0085",
  "\u00a0",
  "\u00e0",
  "\u00c5",
  "\u0105",
  "\u2020",
  "\u2028",
  "\u2029",
  "\u202e",
  "\u2066",
  "\u200b",
  "\ufeff",
  "\u3000",
  "é",
  "ß",
  "ж",
  "日",
  "🐳",
  "\u0301",
  "RUN ",
  "FROM ",
  "\nRUN x",
  "--",
  "--mount=",
  "target=",
];

/**
 * `count` strings from `seed`: each 0 to `maxPieces` pieces of dangerous text (quotes, backslashes, dollars,
 * controls, the Unicode spaces BuildKit's flag parser splits on, instruction keywords). With `illFormed`, about one
 * in fifty also holds half of a surrogate pair. With `alphabet`, only those pieces are used.
 */
export function hostileStrings(count: number, seed: number, options: { maxPieces?: number; illFormed?: boolean; alphabet?: readonly string[] } = {}): string[] {
  const random = seededRandom(seed);
  const pieces = options.alphabet ?? PIECES;
  const maxPieces = options.maxPieces ?? 12;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = "";
    const n = Math.floor(random() * (maxPieces + 1));
    for (let k = 0; k < n; k++) text += pieces[Math.floor(random() * pieces.length)];
    if (options.illFormed && random() < 0.02) text += random() < 0.5 ? "\ud800" : "\udfff";
    out.push(text);
  }
  return out;
}
