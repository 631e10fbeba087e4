/** Small readers for the docs' markdown: fenced code blocks, links, and GitHub's heading anchors. */

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./reference.js";

export const DOCS_DIR = path.join(REPO_ROOT, "docs");

export interface CodeBlock {
  /** The info string's first word: `ts`, `sh`, `yaml`, `console`, ... */
  readonly lang: string;
  readonly text: string;
  /** The file the block names on its first line (`// images.ts`, `# spec.yaml`), if any. */
  readonly file: string | undefined;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/** Every markdown file of docs/, by name. */
export function docFiles(): string[] {
  return readdirSync(DOCS_DIR)
    .filter((f) => f.endsWith(".md"))
    .sort();
}

export function readDoc(name: string): string {
  return readFileSync(path.join(DOCS_DIR, name), "utf8");
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) body.push(lines[i]!);
    const named = /^(?:\/\/|#) ([\w./-]+\.(?:ts|yaml|yml|json))$/.exec(body[0] ?? "");
    blocks.push({ lang: open[1] ?? "", text: `${body.join("\n")}\n`, file: named?.[1], line: start + 1 });
  }
  return blocks;
}

/** Markdown links `[text](target)` outside code blocks and code spans, with their line. */
export function links(markdown: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  let inFence = false;
  markdown.split("\n").forEach((line, i) => {
    if (line.startsWith("```")) inFence = !inFence;
    if (inFence) return;
    const text = line.replace(/`[^`]*`/g, "");
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) out.push({ target: m[1]!, line: i + 1 });
  });
  return out;
}

/** The anchors GitHub gives a document's headings: lowercase, punctuation dropped, spaces to '-', repeats numbered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) inFence = !inFence;
    const heading = !inFence && /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}
