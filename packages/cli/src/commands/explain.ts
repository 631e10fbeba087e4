/**
 * `imagespec explain`: every input of the tag with its own digest; with `--against`, the same image computed
 * from a git revision (or another file) and exactly the inputs, and files, that differ.
 */

import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { type Image, type ImageIdentity, ImageSpecError, loadImageSpecFile, type TagInput } from "@imagespec/core";
import { type Change, diffIdentities, type InputChange, isFolder } from "../diff.js";
import { EXIT } from "../exit.js";
import { checkoutRevision } from "../git.js";
import { importImages, loadSettings, loadTargets, prepare, resolveNativePlatforms, type Settings, type Target } from "../load.js";
import type { Invocation } from "../main.js";
import type { Output } from "../output.js";

const short = (digest: string | null) => (digest ? digest.slice(0, 12) : "-");

export async function run(inv: Invocation): Promise<number> {
  const { out } = inv;
  const settings = await loadSettings(inv, { project: false });
  const [target] = await loadTargets(inv, settings, "one");
  const identity = await target!.image.identity();
  const against = typeof inv.options.against === "string" ? inv.options.against : undefined;

  if (against === undefined) {
    if (out.json) out.outJson({ name: target!.name, ...identityJson(identity) });
    else printInputs(out, target!.name, identity);
    return EXIT.ok;
  }

  const previous = await identityAgainst(inv, settings, target!, against);
  const changes = diffIdentities(previous.identity, identity);
  if (out.json) {
    out.outJson({
      name: target!.name,
      ...identityJson(identity),
      against: { ref: against, ...(previous.commit !== undefined && { commit: previous.commit }), id: previous.identity.id, tag: previous.identity.tag, uri: previous.identity.uri },
      changes,
    });
  } else {
    printChanges(out, target!.name, identity, previous.identity, previous.label, changes);
  }
  return EXIT.ok;
}

function identityJson(identity: ImageIdentity) {
  return { id: identity.id, tag: identity.tag, uri: identity.uri, specHash: identity.specHash, inputs: identity.inputs };
}

function printInputs(out: Output, name: string, identity: ImageIdentity): void {
  const { style } = out;
  out.out(`${style.bold(name)}  ${identity.uri}`);
  out.out(`  id  ${identity.id}   tag  ${identity.tag}   spec hash  ${short(identity.specHash)}`);
  out.out("");
  out.out(`${identity.inputs.length} inputs:`);
  const width = Math.max(...identity.inputs.map((i) => i.name.length));
  for (const input of identity.inputs) {
    out.out(`  ${input.name.padEnd(width)}  ${style.dim(short(input.digest))}  ${describe(input)}`);
    if (!isFolder(input)) continue;
    for (const entry of input.files ?? []) {
      const label = entry.type === "dir" ? `${entry.path}/` : entry.type === "symlink" ? `${entry.path} -> ${entry.target}` : `${entry.path}${entry.executable ? " (executable)" : ""}`;
      out.out(`  ${"".padEnd(width)}  ${style.dim(entry.digest ? short(entry.digest) : "".padEnd(12))}    ${label}`);
    }
  }
}

function describe(input: TagInput): string {
  const detail = input.detail ?? "";
  if (!isFolder(input)) return detail;
  const files = input.files!.filter((f) => f.type !== "dir").length;
  return `${detail}/ (${files} file${files === 1 ? "" : "s"})`;
}

function printChanges(out: Output, name: string, now: ImageIdentity, before: ImageIdentity, label: string, changes: readonly InputChange[]): void {
  const { style } = out;
  if (changes.length === 0) {
    out.out(`${style.bold(name)}: same tag as ${label}: ${now.uri}`);
    return;
  }
  out.out(`${style.bold(name)}: tag changed since ${label}`);
  out.out(`  before  ${before.uri}`);
  out.out(`  now     ${now.uri}`);
  out.out("");
  out.out(`${changes.length} input${changes.length === 1 ? "" : "s"} changed:`);
  const mark = (change: Change) => (change === "added" ? style.green("+") : change === "removed" ? style.red("-") : style.yellow("~"));
  for (const c of changes) {
    const detail = c.change === "changed" && c.detailBefore !== c.detailAfter ? `${c.detailBefore} -> ${c.detailAfter}` : (c.detailAfter ?? c.detailBefore ?? "");
    out.out(`  ${mark(c.change)} ${c.input}  ${c.change}  ${short(c.before)} -> ${short(c.after)}  ${detail}`);
    for (const f of c.files ?? []) {
      const what = f.what && !(f.what.length === 1 && f.what[0] === "content") ? ` (${f.what.join(", ")})` : "";
      out.out(`      ${mark(f.change)} ${f.path}  ${f.change}${what}  ${short(f.before)} -> ${short(f.after)}`);
    }
  }
}

interface Previous {
  readonly label: string;
  readonly commit?: string;
  readonly identity: ImageIdentity;
}

/** The same image from another file, or from the same file at a git revision. */
async function identityAgainst(inv: Invocation, settings: Settings, target: Target, against: string): Promise<Previous> {
  const candidate = path.resolve(inv.cwd, against);
  if (existsSync(candidate) && statSync(candidate).isFile()) {
    const image = await loadImage(candidate, against, target.name);
    return { label: against, identity: await identityOf(image, target.name, inv, settings) };
  }

  const shown = Array.isArray(inv.options.image) ? inv.options.image[0]! : inv.positionals[0]!;
  const source = path.resolve(inv.cwd, shown);
  const checkout = await checkoutRevision(against, source, [path.dirname(source), inv.cwd]);
  try {
    const oldSource = checkout.map(source);
    if (!existsSync(oldSource)) {
      throw new ImageSpecError("FILE_NOT_FOUND", `Cannot compare against ${against}: ${shown} does not exist at that revision (${checkout.commit.slice(0, 12)})`, {
        field: "against",
        value: against,
      });
    }
    // Images take the current folder as their root by default: construct the old ones from the same place in the old tree.
    const oldCwd = checkout.map(inv.cwd);
    mkdirSync(oldCwd, { recursive: true });
    const cwd = process.cwd();
    let image: Image;
    process.chdir(oldCwd);
    try {
      image = await loadImage(oldSource, `${shown} at ${against}`, target.name);
    } finally {
      process.chdir(cwd);
    }
    return { label: `${against} (${checkout.commit.slice(0, 12)})`, commit: checkout.commit, identity: await identityOf(image, target.name, inv, settings) };
  } finally {
    checkout.remove();
  }
}

async function identityOf(image: Image, name: string, inv: Invocation, settings: Settings): Promise<ImageIdentity> {
  const [prepared] = prepare([{ name, image }], inv, settings);
  prepared!.image.validate();
  const [resolved] = await resolveNativePlatforms([prepared!], inv, settings);
  return resolved!.image.identity();
}

async function loadImage(file: string, shown: string, name: string): Promise<Image> {
  if (/\.ya?ml$/i.test(file)) return (await loadImageSpecFile(file)).toImage();
  const { images } = await importImages(file, shown);
  const image = images.get(name) ?? (images.size === 1 ? [...images.values()][0] : undefined);
  if (!image) {
    throw new ImageSpecError("INVALID_SPEC", `Cannot compare against ${shown}: it has no image named ${JSON.stringify(name)} (it exports ${[...images.keys()].join(", ") || "none"})`, {
      field: "against",
      value: shown,
    });
  }
  return image;
}
