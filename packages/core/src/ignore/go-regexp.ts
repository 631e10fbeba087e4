/**
 * Go's regular expressions (RE2 syntax, as `regexp.Compile` reads it) translated into JavaScript RegExps.
 *
 * moby/patternmatcher turns a .dockerignore pattern into a Go regular expression and passes most characters
 * through untouched, so `[[:digit:]]` is a POSIX class, `\a` is the bell character and `?` matches one code point.
 * Reading that expression with JavaScript's own syntax would match other files; this module parses the Go syntax
 * (what a Docker pattern can reach) and writes an equivalent `u`-mode RegExp, or throws the error Go would report.
 */

export class GoRegexpError extends Error {}

type Range = readonly [number, number];
/** A class item: code point ranges, or a JavaScript property escape that cannot be spelled as ranges. */
type ClassPart = { readonly ranges: readonly Range[] } | { readonly js: string };

const MAX_CODE_POINT = 0x10ffff;
const MAX_REPEAT = 1000;

const POSIX_CLASSES: Record<string, readonly Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

const PERL_CLASSES: Record<string, readonly Range[]> = {
  d: POSIX_CLASSES.digit!,
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: POSIX_CLASSES.word!,
};

function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

const codePoint = (cp: number) => `\\u{${cp.toString(16)}}`;
const rangesToJs = (ranges: readonly Range[]) => ranges.map(([lo, hi]) => (lo === hi ? codePoint(lo) : `${codePoint(lo)}-${codePoint(hi)}`)).join("");
const literal = (cp: number) => (/[A-Za-z0-9_]/.test(String.fromCodePoint(cp)) || cp > 0x7f ? String.fromCodePoint(cp) : codePoint(cp));

function unicodeProperty(name: string, negated: boolean): ClassPart {
  if (name === "Any") return { ranges: negated ? [] : [[0, MAX_CODE_POINT]] };
  const p = negated ? "P" : "p";
  for (const candidate of [`General_Category=${name}`, `Script=${name}`]) {
    try {
      new RegExp(`\\p{${candidate}}`, "u");
      return { js: `\\${p}{${candidate}}` };
    } catch {
      // not this kind of property
    }
  }
  throw new GoRegexpError(`invalid character class range: \`\\${p}{${name}}\``);
}

class Parser {
  readonly #chars: number[];
  #i = 0;
  constructor(source: string) {
    this.#chars = Array.from(source, (c) => c.codePointAt(0)!);
  }

  parse(): string {
    const out = this.#alternation();
    if (this.#i < this.#chars.length) throw new GoRegexpError("unexpected ): `" + this.#text() + "`");
    return out;
  }

  #text(): string {
    return String.fromCodePoint(...this.#chars);
  }
  #peek(offset = 0): number | undefined {
    return this.#chars[this.#i + offset];
  }
  #is(ch: string, offset = 0): boolean {
    return this.#peek(offset) === ch.codePointAt(0);
  }

  #alternation(): string {
    const branches = [this.#concatenation()];
    while (this.#is("|")) {
      this.#i++;
      branches.push(this.#concatenation());
    }
    return branches.join("|");
  }

  #concatenation(): string {
    let out = "";
    while (this.#i < this.#chars.length && !this.#is("|") && !this.#is(")")) {
      const atom = this.#atom();
      const repeat = this.#repeat();
      if (repeat === undefined) {
        out += atom;
        continue;
      }
      if (this.#repeatAhead()) throw new GoRegexpError(`invalid nested repetition operator: \`${repeat}\``);
      out += `(?:${atom})${repeat}`;
    }
    return out;
  }

  /** `{n}`, `{n,}`, `{n,m}` at the cursor: its length and bounds, or undefined when `{` is a literal there. */
  #braces(): { length: number; min: number; max: number | undefined } | undefined {
    const rest = String.fromCodePoint(...this.#chars.slice(this.#i, this.#i + 24));
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? undefined : Number(m[3]);
    return { length: m[0].length, min, max };
  }

  #repeatAhead(): boolean {
    return this.#is("*") || this.#is("+") || this.#is("?") || (this.#is("{") && this.#braces() !== undefined);
  }

  #repeat(): string | undefined {
    let op: string;
    if (this.#is("*") || this.#is("+") || this.#is("?")) {
      op = String.fromCodePoint(this.#peek()!);
      this.#i++;
    } else if (this.#is("{")) {
      const braces = this.#braces();
      if (!braces) return undefined;
      const text = String.fromCodePoint(...this.#chars.slice(this.#i, this.#i + braces.length));
      if (braces.min > MAX_REPEAT || (braces.max !== undefined && (braces.max > MAX_REPEAT || braces.max < braces.min))) {
        throw new GoRegexpError(`invalid repeat count: \`${text}\``);
      }
      this.#i += braces.length;
      op = text;
    } else {
      return undefined;
    }
    if (this.#is("?")) {
      this.#i++;
      op += "?";
    }
    return op;
  }

  #atom(): string {
    const ch = this.#peek()!;
    const c = String.fromCodePoint(ch);
    if (c === "*" || c === "+" || c === "?" || (c === "{" && this.#braces() !== undefined)) {
      throw new GoRegexpError(`missing argument to repetition operator: \`${c}\``);
    }
    this.#i++;
    switch (c) {
      case "(": {
        const inner = this.#alternation();
        if (!this.#is(")")) throw new GoRegexpError(`missing closing ): \`${this.#text()}\``);
        this.#i++;
        return `(?:${inner})`;
      }
      case "^":
        return "^";
      case "$":
        return "$";
      case ".":
        return "[^\\n]";
      case "[":
        return this.#class();
      case "\\":
        return this.#escape();
      default:
        return literal(ch);
    }
  }

  #escape(): string {
    const next = this.#peek();
    if (next === undefined) throw new GoRegexpError("trailing backslash at end of expression: ``");
    const c = String.fromCodePoint(next);
    switch (c) {
      case "A":
        this.#i++;
        return "^";
      case "z":
        this.#i++;
        return "$";
      case "b":
      case "B":
        this.#i++;
        return `\\${c}`;
      case "Q": {
        this.#i++;
        let out = "";
        while (this.#i < this.#chars.length && !(this.#is("\\") && this.#is("E", 1))) out += literal(this.#chars[this.#i++]!);
        if (this.#i < this.#chars.length) this.#i += 2;
        return out;
      }
    }
    const part = this.#classEscape();
    return "ranges" in part
      ? part.ranges.length === 1 && part.ranges[0]![0] === part.ranges[0]![1]
        ? literal(part.ranges[0]![0])
        : `[${rangesToJs(part.ranges)}]`
      : part.js;
  }

  /** An escape that stands for characters (inside or outside a class); the cursor is after the backslash. */
  #classEscape(): ClassPart {
    const ch = this.#peek();
    if (ch === undefined) throw new GoRegexpError("trailing backslash at end of expression: ``");
    this.#i++;
    const c = String.fromCodePoint(ch);
    const one = (cp: number): ClassPart => ({ ranges: [[cp, cp]] });
    if (ch < 0x80 && !/[A-Za-z0-9]/.test(c)) return one(ch);
    const perl = PERL_CLASSES[c.toLowerCase()];
    if (perl && /[dswDSW]/.test(c)) return { ranges: c === c.toLowerCase() ? perl : complement(perl) };
    if (c === "p" || c === "P") {
      let name: string;
      if (this.#is("{")) {
        const end = this.#chars.indexOf(0x7d, this.#i);
        if (end < 0) throw new GoRegexpError(`invalid character class range: \`\\${c}${String.fromCodePoint(...this.#chars.slice(this.#i))}\``);
        name = String.fromCodePoint(...this.#chars.slice(this.#i + 1, end));
        this.#i = end + 1;
      } else {
        const letter = this.#peek();
        if (letter === undefined) throw new GoRegexpError(`invalid character class range: \`\\${c}\``);
        name = String.fromCodePoint(letter);
        this.#i++;
      }
      let negated = c === "P";
      if (name.startsWith("^")) {
        negated = !negated;
        name = name.slice(1);
      }
      return unicodeProperty(name, negated);
    }
    if (c >= "1" && c <= "7" && !(this.#peek() !== undefined && this.#peek()! >= 0x30 && this.#peek()! <= 0x37)) {
      throw new GoRegexpError(`invalid escape sequence: \`\\${c}\``);
    }
    if (c >= "0" && c <= "7") {
      let value = ch - 0x30;
      for (let k = 1; k < 3 && this.#peek() !== undefined && this.#peek()! >= 0x30 && this.#peek()! <= 0x37; k++)
        value = value * 8 + (this.#chars[this.#i++]! - 0x30);
      return one(value);
    }
    if (c === "x") {
      if (this.#is("{")) {
        const end = this.#chars.indexOf(0x7d, this.#i);
        const hex = end < 0 ? "" : String.fromCodePoint(...this.#chars.slice(this.#i + 1, end));
        if (!/^[0-9A-Fa-f]+$/.test(hex) || Number.parseInt(hex, 16) > MAX_CODE_POINT) throw new GoRegexpError("invalid escape sequence: `\\x{`");
        this.#i = end + 1;
        return one(Number.parseInt(hex, 16));
      }
      const hex = String.fromCodePoint(...this.#chars.slice(this.#i, this.#i + 2));
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new GoRegexpError(`invalid escape sequence: \`\\x${hex}\``);
      this.#i += 2;
      return one(Number.parseInt(hex, 16));
    }
    const controls: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (c in controls) return one(controls[c]!);
    throw new GoRegexpError(`invalid escape sequence: \`\\${c}\``);
  }

  #class(): string {
    const start = this.#i - 1;
    let negated = false;
    if (this.#is("^")) {
      negated = true;
      this.#i++;
    }
    const parts: ClassPart[] = [];
    let first = true;
    for (;;) {
      const ch = this.#peek();
      if (ch === undefined) throw new GoRegexpError(`missing closing ]: \`${String.fromCodePoint(...this.#chars.slice(start))}\``);
      if (ch === 0x5d && !first) {
        this.#i++;
        break;
      }
      first = false;
      if (this.#is("[") && this.#is(":", 1)) {
        const end = String.fromCodePoint(...this.#chars.slice(this.#i)).indexOf(":]");
        if (end >= 0) {
          const spelled = String.fromCodePoint(...this.#chars.slice(this.#i, this.#i + end + 2));
          const name = spelled.slice(2, -2);
          const ranges = POSIX_CLASSES[name.replace(/^\^/, "")];
          if (!ranges) throw new GoRegexpError(`invalid character class range: \`${spelled}\``);
          parts.push({ ranges: name.startsWith("^") ? complement(ranges) : ranges });
          this.#i += Array.from(spelled).length;
          continue;
        }
      }
      const lo = this.#classChar();
      if (this.#is("-") && this.#peek(1) !== undefined && !this.#is("]", 1)) {
        this.#i++;
        const hi = this.#classChar();
        const loCp = single(lo);
        const hiCp = single(hi);
        if (loCp === undefined || hiCp === undefined || hiCp < loCp) throw new GoRegexpError("invalid character class range");
        parts.push({ ranges: [[loCp, hiCp]] });
      } else {
        parts.push(lo);
      }
    }
    const ranges = parts.flatMap((p) => ("ranges" in p ? p.ranges : []));
    const js = parts.flatMap((p) => ("js" in p ? [p.js] : []));
    if (js.length === 0) {
      const set = negated ? complement(ranges) : ranges;
      return set.length === 0 ? "[^\\u{0}-\\u{10ffff}]" : `[${rangesToJs(set)}]`;
    }
    const body = `${rangesToJs(ranges)}${js.join("")}`;
    return negated ? `[^${body}]` : `[${body}]`;
  }

  #classChar(): ClassPart {
    const ch = this.#chars[this.#i++]!;
    if (ch === 0x5c) return this.#classEscape();
    return { ranges: [[ch, ch]] };
  }
}

function single(part: ClassPart): number | undefined {
  return "ranges" in part && part.ranges.length === 1 && part.ranges[0]![0] === part.ranges[0]![1] ? part.ranges[0]![0] : undefined;
}

/** The JavaScript RegExp that matches exactly what Go's `regexp.MustCompile(source)` matches. Throws GoRegexpError. */
export function goRegExp(source: string): RegExp {
  return new RegExp(new Parser(source).parse(), "u");
}
