/**
 * .dockerignore cases, each a context of its own: the ignore file and the files in it (a name ending in `/` is an
 * empty folder). `docker build` and imagespec must select the same files, or both refuse the file.
 */
export interface DockerignoreCase {
  readonly name: string;
  readonly dockerignore: string | Buffer;
  readonly files: readonly (string | Buffer)[];
}

const ordinary = [
  "a.txt",
  "b.md",
  "README.md",
  "secret.txt",
  "SECRET.txt",
  "src/app.py",
  "src/app.pyc",
  "src/sub/deep.txt",
  "docs/guide.md",
  "docs/img/logo.png",
  ".env",
  "empty/",
];

export const DOCKERIGNORE_CASES: readonly DockerignoreCase[] = [
  { name: "plain-names", dockerignore: "a.txt\ndocs\n", files: ordinary },
  { name: "star-extension", dockerignore: "*.md\n", files: ordinary },
  { name: "star-only-top-level", dockerignore: "*.txt\n", files: ordinary },
  { name: "case-sensitive-upper-pattern", dockerignore: "*.TXT\n", files: ordinary },
  { name: "case-sensitive-exception", dockerignore: "*.txt\n!SECRET.txt\n", files: ordinary },
  { name: "double-star-extension", dockerignore: "**/*.txt\n", files: ordinary },
  { name: "double-star-folder", dockerignore: "**/sub\n", files: ordinary },
  { name: "double-star-suffix-quirk", dockerignore: "**oo\n", files: ["foo", "xoo", "o/xoo", "oo", "keep"] },
  { name: "trailing-double-star", dockerignore: "src/**\n", files: ordinary },
  { name: "prefix-double-star", dockerignore: "do**\n", files: ordinary },
  { name: "question-mark", dockerignore: "?.txt\n", files: ordinary },
  { name: "question-mark-code-point", dockerignore: "?.txt\n", files: ["é.txt", "🙂.txt", "ab.txt", "x.txt"] },
  { name: "bracket-range", dockerignore: "[a-c].*\n", files: ordinary },
  { name: "bracket-negation", dockerignore: "[^a].txt\n", files: ["a.txt", "b.txt", "ab.txt"] },
  { name: "bracket-bang-is-literal", dockerignore: "[!a].txt\n", files: ["a.txt", "b.txt", "!.txt"] },
  { name: "posix-class-is-go-regexp", dockerignore: "f[[:digit:]]\n", files: ["f1", "fd", "f:]", "f]"] },
  { name: "escape-is-go-regexp", dockerignore: "\\a\n", files: ["a", "b"] },
  { name: "escaped-star", dockerignore: "\\*.txt\n", files: ["*.txt", "a.txt"] },
  { name: "perl-class", dockerignore: "file\\d\n", files: ["file1", "filed", "file12"] },
  {
    name: "regexp-characters-are-literal",
    dockerignore: "a+b\nc(d)\ne{2}\nf|g\nh$\ni.j\n",
    files: ["a+b", "aab", "ab", "c(d)", "cd", "e{2}", "ee", "f|g", "f", "h$", "h", "i.j", "ixj"],
  },
  { name: "anchor-is-go-regexp", dockerignore: "a^b\n[^a]^\n", files: ["a^b", "ab", "x^"] },
  { name: "leading-slash-and-dot", dockerignore: "/a.txt\n./b.md\n", files: ordinary },
  { name: "clean-parent-references", dockerignore: "src/../docs\nx/./y\n", files: [...ordinary, "x/y", "x/z"] },
  { name: "trailing-slash", dockerignore: "src/\n", files: ordinary },
  { name: "comments-and-blank-lines", dockerignore: "# a.txt\n\n   \nb.md\n #c\n", files: [...ordinary, " #c", "#c"] },
  {
    name: "bom-before-comment",
    dockerignore: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("# a comment\na.txt\n")]),
    files: [...ordinary, "# a comment"],
  },
  { name: "crlf-lines", dockerignore: "a.txt\r\nb.md\r\n", files: ordinary },
  { name: "surrounding-whitespace", dockerignore: "  a.txt  \n\tb.md\n!  README.md\n", files: ordinary },
  { name: "exception-in-excluded-folder", dockerignore: "docs\n!docs/guide.md\n", files: ordinary },
  { name: "exception-not-starting-with-folder", dockerignore: "dir\n!*/keep.txt\n", files: ["dir/keep.txt", "dir/other", "top/keep.txt", "keep.txt"] },
  { name: "exception-before-exclusion", dockerignore: "!dir/keep\ndir\n", files: ["dir/keep", "dir/other", "x"] },
  { name: "parent-results", dockerignore: "a\n!a/b\na\n", files: ["a/b/c", "a/x", "b"] },
  { name: "deep-exception", dockerignore: "a/b\n!a/b/c/d\n", files: ["a/b/c/d", "a/b/c/e", "a/b/x", "a/y"] },
  { name: "exception-for-folder", dockerignore: "*\n!src\n", files: ordinary },
  { name: "everything-but", dockerignore: "*\n!*.md\n", files: ordinary },
  { name: "exclude-all", dockerignore: "*\n", files: ordinary },
  { name: "double-star-exception", dockerignore: "**/*.txt\n!src/**/*.txt\n", files: ordinary },
  {
    name: "unrelated-exception",
    dockerignore: "node_modules\n!README.md\n",
    files: ["node_modules/a/index.js", "node_modules/b/README.md", "README.md", "x.md"],
  },
  { name: "dockerignore-ignores-itself", dockerignore: ".dockerignore\n.env\n", files: ordinary },
  { name: "hidden-files", dockerignore: ".*\n", files: [...ordinary, "src/.hidden"] },
  { name: "slash-star-star-slash", dockerignore: "docs/**/*.png\n", files: ordinary },
  { name: "spaces-in-names", dockerignore: "with space/*.txt\n", files: ["with space/a.txt", "with space/b.md", "a b.txt"] },
  { name: "dot-pattern", dockerignore: ".\n", files: ["a", "b/c"] },
  { name: "lone-exclamation", dockerignore: "a.txt\n!\n", files: ordinary },
  { name: "unterminated-bracket", dockerignore: "a.txt\n[abc\n", files: ordinary },
  { name: "trailing-backslash", dockerignore: "a.txt\nb\\\n", files: ordinary },
  { name: "invalid-go-escape", dockerignore: "\\q\n", files: ordinary },
  { name: "unknown-posix-class", dockerignore: "[[:nope:]]\n", files: ordinary },
  { name: "reversed-range", dockerignore: "[z-a]\n", files: ordinary },
  { name: "invalid-utf8-name-ignored", dockerignore: "*.bin\n", files: [Buffer.from([0x66, 0xff, 0x2e, 0x62, 0x69, 0x6e]), "a.txt"] },
  { name: "invalid-utf8-name-question-mark", dockerignore: "x?\n", files: [Buffer.from([0x78, 0xff]), "a.txt"] },
];
