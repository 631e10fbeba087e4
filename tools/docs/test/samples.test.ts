/**
 * The docs' samples work: every TypeScript block type-checks against the real packages, every YAML spec loads, every
 * `imagespec` command line uses a command and options the CLI has, every relative link and anchor exists, and the
 * "one image, three ways" of apis.md gives one URI.
 */

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseImageSpecYaml } from "@imagespec/core";
import { execa } from "execa";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { COMMAND_LIST } from "../../../packages/cli/src/commands.js";
import { anchors, codeBlocks, DOCS_DIR, docFiles, links, readDoc } from "../src/markdown.js";
import { REPO_ROOT } from "../src/reference.js";

const TOOL_DIR = path.resolve(DOCS_DIR, "..", "tools", "docs");
/** Where the samples are placed (virtually) so that they resolve this package's dependencies. */
const SAMPLES_DIR = path.join(TOOL_DIR, "doc-samples");
/** The architecture notes and the hash contract sketch interfaces rather than show runnable code. */
const LEADS_DOCS = ["ARCHITECTURE.md", "hashing.md"];

function ancestors(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) out.push(d);
  return out;
}

describe("the docs' TypeScript samples", () => {
  it("type-check against the packages as published (strict, NodeNext)", () => {
    const files = new Map<string, string>();
    for (const doc of docFiles().filter((d) => !LEADS_DOCS.includes(d))) {
      for (const block of codeBlocks(readDoc(doc)).filter((b) => b.lang === "ts")) {
        files.set(path.join(SAMPLES_DIR, doc.replace(/\.md$/, ""), block.file ?? `block-at-line-${block.line}.ts`), block.text);
      }
    }
    expect(files.size).toBeGreaterThan(8);
    const config = ts.readConfigFile(path.join(REPO_ROOT, "tsconfig.base.json"), ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, TOOL_DIR);
    const compilerOptions = { ...options, noEmit: true, declaration: false, sourceMap: false, moduleDetection: ts.ModuleDetectionKind.Force };
    const host = ts.createCompilerHost(compilerOptions);
    const { fileExists, readFile, getSourceFile, directoryExists } = host;
    const folders = new Set([...files.keys()].flatMap((file) => ancestors(path.dirname(file))));
    host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
    host.directoryExists = (dir) => folders.has(dir) || (directoryExists?.call(host, dir) ?? false);
    host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
    host.getSourceFile = (file, language, ...rest) => {
      const text = files.get(file);
      return text !== undefined ? ts.createSourceFile(file, text, language) : getSourceFile.call(host, file, language, ...rest);
    };
    const program = ts.createProgram([...files.keys()], compilerOptions, host);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || files.has(d.file.fileName))
      .map((d) => {
        const where = d.file ? `${path.relative(SAMPLES_DIR, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : "";
        return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
    expect(problems).toEqual([]);
  });

  it("YAML specs load through the spec schema", () => {
    let count = 0;
    for (const doc of docFiles()) {
      for (const block of codeBlocks(readDoc(doc)).filter((b) => b.lang === "yaml" && b.file)) {
        expect(() => parseImageSpecYaml(block.text, { root: REPO_ROOT, source: `${doc}: ${block.file}` }), `${doc}:${block.line}`).not.toThrow();
        count++;
      }
    }
    expect(count).toBeGreaterThan(1);
  });
});

describe("the docs' imports", () => {
  it("every package a TypeScript sample imports (besides core) is installed by a command on the same page", () => {
    const problems: string[] = [];
    for (const doc of docFiles().filter((d) => !LEADS_DOCS.includes(d))) {
      const text = readDoc(doc);
      const installs = codeBlocks(text)
        .filter((b) => b.lang === "sh" || b.lang === "console")
        .flatMap((b) => b.text.split("\n"))
        .concat(text.split("\n"))
        .filter((line) => /\b(npm install|pnpm add)\b/.test(line))
        .join("\n");
      for (const block of codeBlocks(text).filter((b) => b.lang === "ts")) {
        for (const m of block.text.matchAll(/from "((?:@imagespec\/[a-z-]+)|imagespec)(?:\/[a-z-]+)?"/g)) {
          const pkg = m[1]!;
          if (pkg === "@imagespec/core") continue;
          if (!new RegExp(`(^|\\s)${pkg.replace("/", "\\/")}(\\s|$|\`)`, "m").test(installs))
            problems.push(`${doc}:${block.line}: imports ${pkg}, which the page never installs`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("the docs' imagespec command lines", () => {
  it("use commands and options the CLI has", () => {
    const problems: string[] = [];
    let count = 0;
    for (const doc of [...docFiles(), "../README.md"]) {
      for (const block of codeBlocks(readDoc(doc)).filter((b) => b.lang === "sh" || b.lang === "console")) {
        for (const line of block.text.split("\n")) {
          for (const m of line.matchAll(/imagespec ([a-z][a-z-]*)((?: [^ |)&;>#]+)*)/g)) {
            const command = COMMAND_LIST.find((c) => c.name === m[1]);
            if (!command) {
              if (!/^[a-z-]+\/|^example/.test(m[1]!)) problems.push(`${doc}:${block.line}: unknown command \`imagespec ${m[1]}\``);
              continue;
            }
            count++;
            for (const flag of (m[2] ?? "").split(" ").filter((t) => t.startsWith("--"))) {
              const name = flag.slice(2).split("=")[0]!;
              if (!Object.values(command.options).some((o) => o.flag === name))
                problems.push(`${doc}:${block.line}: \`imagespec ${command.name}\` has no option --${name}`);
            }
          }
        }
      }
    }
    expect(count).toBeGreaterThan(15);
    expect(problems).toEqual([]);
  });
});

describe("the docs' links", () => {
  it("point at files and headings that exist", () => {
    const problems: string[] = [];
    for (const doc of [...docFiles(), "../README.md"]) {
      const file = path.join(DOCS_DIR, doc);
      for (const { target, line } of links(readDoc(doc))) {
        if (/^[a-z]+:/.test(target)) continue; // http(s), mailto
        const [target_path, anchor] = target.split("#") as [string, string | undefined];
        const resolved = target_path === "" ? file : path.resolve(path.dirname(file), target_path);
        if (!existsSync(resolved)) {
          problems.push(`${doc}:${line}: ${target} does not exist`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith(".md") && !anchors(readDoc(path.relative(DOCS_DIR, resolved))).has(anchor)) {
          problems.push(`${doc}:${line}: ${target}: no heading with the anchor #${anchor}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("apis.md, one image three ways", () => {
  const temps: string[] = [];
  afterAll(async () => {
    for (const dir of temps) await rm(dir, { recursive: true, force: true });
  });

  it("gives the same URI from the fluent Image, the ImageSpec and the YAML file", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "imagespec-docs-"));
    temps.push(dir);
    const blocks = codeBlocks(readDoc("apis.md")).filter((b) => b.file === "fluent.ts" || b.file === "spec.ts" || b.file === "spec.yaml");
    expect(blocks.map((b) => b.file).sort()).toEqual(["fluent.ts", "spec.ts", "spec.yaml"]);
    for (const block of blocks) await writeFile(path.join(dir, block.file!), block.text);
    await writeFile(path.join(dir, "package.json"), JSON.stringify({ name: "three-ways", private: true, type: "module" }));
    await writeFile(path.join(dir, "requirements.txt"), "pyarrow\n");
    await mkdir(path.join(dir, "src"));
    await writeFile(path.join(dir, "src", "app.py"), "print('app')\n");
    await symlink(path.join(TOOL_DIR, "node_modules"), path.join(dir, "node_modules"), "dir");
    const imagespec = path.join(TOOL_DIR, "node_modules", ".bin", "imagespec");
    const tag = async (...args: string[]) => (await execa(imagespec, ["tag", ...args], { cwd: dir })).stdout;
    const fluent = await tag("fluent.ts", "app");
    expect(fluent).toMatch(/^ghcr\.io\/acme\/app:[a-z2-7]{26}$/);
    expect(await tag("spec.ts", "app")).toBe(fluent);
    expect(await tag("--image", "spec.yaml")).toBe(fluent);
  });
});
