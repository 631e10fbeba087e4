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
import { whileHashing } from "../hashing.js";
import { importImages, loadSettings, loadTargets, prepare, resolveNativePlatforms, type Settings, type Target } from "../load.js";
import type { Invocation } from "../main.js";
import type { Output } from "../output.js";

const short = (digest: string | null) => (digest ? digest.slice(0, 12) : "-");

export async function run(inv: Invocation<"explain">): Promise<number> {
  const { out } = inv;
  const settings = await loadSettings(inv, { project: false });
  const targets = await loadTargets(inv, settings, "many");
  const against = inv.options.against;
  const documents: unknown[] = [];

  for (const [i, target] of targets.entries()) {
    if (i > 0 && !out.json) out.out("");
    const identity = await whileHashing(out, inv.cwd, () => target.image.identity());
    if (against === undefined) {
      if (out.json) documents.push({ name: target.name, file: target.file, ...identityJson(identity) });
      else printInputs(out, target.name, identity);
      continue;
    }
    const previous = await whileHashing(out, inv.cwd, () => imageAgainst(inv, settings, target, against, targets.length));
    const changes = await diffImages(previous.image, target.image);
    if (out.json) {
      documents.push({
        name: target.name,
        file: target.file,
        ...identityJson(identity),
        against: {
          ref: against,
          ...(previous.commit !== undefined && { commit: previous.commit }),
          id: previous.identity.id,
          tag: previous.identity.tag,
          uri: previous.identity.uri,
        },
        changes,
      });
    } else {
      printChanges(out, target.name, identity, previous.identity, previous.label, changes);
    }
  }
  // One image (the single-image form): an object, as before; several: an array of the same objects.
  if (out.json) out.outJson(documents.length === 1 ? documents[0] : documents);
  return EXIT.ok;
}

/**
 * The inputs that differ, and for a changed base that is an Image on both sides, the base's own inputs that
 * differ (and so on down), so a tag changed by a base shows the input that changed it.
 */
async function diffImages(before: Image, after: Image): Promise<InputChange[]> {
  const changes = diffIdentities(await before.identity(), await after.identity());
  return Promise.all(
    changes.map(async (change) =>
      change.input === "base" && change.change === "changed" && before.base.type === "image" && after.base.type === "image"
        ? { ...change, changes: await diffImages(before.base.image, after.base.image) }
        : change,
    ),
  );
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
      // Modes show where they differ from the usual 0644 file and 0755 folder.
      const mode = (usual: number) => (entry.mode === usual ? "" : ` (mode ${entry.mode.toString(8).padStart(4, "0")})`);
      const label =
        entry.type === "dir" ? `${entry.path}/${mode(0o755)}` : entry.type === "symlink" ? `${entry.path} -> ${entry.target}` : `${entry.path}${mode(0o644)}`;
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
  printChangeList(out, changes, "  ");
}

function printChangeList(out: Output, changes: readonly InputChange[], indent: string): void {
  const { style } = out;
  const mark = (change: Change) => (change === "added" ? style.green("+") : change === "removed" ? style.red("-") : style.yellow("~"));
  for (const c of changes) {
    const detail =
      c.change === "changed" && c.detailBefore !== c.detailAfter ? `${c.detailBefore} -> ${c.detailAfter}` : (c.detailAfter ?? c.detailBefore ?? "");
    out.out(`${indent}${mark(c.change)} ${c.input}  ${c.change}  ${short(c.before)} -> ${short(c.after)}  ${detail}`);
    for (const f of c.files ?? []) {
      const what = f.what && !(f.what.length === 1 && f.what[0] === "content") ? ` (${f.what.join(", ")})` : "";
      out.out(`${indent}    ${mark(f.change)} ${f.path}  ${f.change}${what}  ${short(f.before)} -> ${short(f.after)}`);
    }
    if (c.changes !== undefined) {
      out.out(
        `${indent}    ${style.dim(c.changes.length === 0 ? "(the base's inputs are the same; its own base or settings differ)" : "because in the base:")}`,
      );
      printChangeList(out, c.changes, `${indent}    `);
    }
  }
}

interface Previous {
  readonly label: string;
  readonly commit?: string;
  readonly identity: ImageIdentity;
  /** Prepared as the current image is (registry, platforms, fast mode). */
  readonly image: Image;
}

/** The same image from another file, or from the same file at a git revision. */
async function imageAgainst(inv: Invocation, settings: Settings, target: Target, against: string, count: number): Promise<Previous> {
  const candidate = path.resolve(inv.cwd, against);
  if (existsSync(candidate) && statSync(candidate).isFile()) {
    if (count > 1) {
      throw new ImageSpecError("INVALID_SPEC", `Cannot compare ${count} images against the file ${against}: a file is compared with one image`, {
        field: "against",
        value: against,
        hint: "Give one image, or a git revision (HEAD~1, main) to compare every image with itself at that revision.",
      });
    }
    const image = await prepared(await loadImage(candidate, against, target.name), target, inv, settings);
    return { label: against, identity: await image.identity(), image };
  }

  const checkout = await checkoutRevision(against, target.absolute, [path.dirname(target.absolute), inv.cwd]);
  try {
    const oldSource = checkout.map(target.absolute);
    if (!existsSync(oldSource)) {
      throw new ImageSpecError(
        "FILE_NOT_FOUND",
        `Cannot compare against ${against}: ${target.file} does not exist at that revision (${checkout.commit.slice(0, 12)})`,
        {
          field: "against",
          value: against,
        },
      );
    }
    // Images take the current folder as their root by default: construct the old ones from the same place in the old tree.
    const oldCwd = checkout.map(inv.cwd);
    mkdirSync(oldCwd, { recursive: true });
    const cwd = process.cwd();
    let image: Image;
    process.chdir(oldCwd);
    try {
      image = await loadImage(oldSource, `${target.file} at ${against}`, target.name);
    } finally {
      process.chdir(cwd);
    }
    const old = await prepared(image, target, inv, settings);
    return { label: `${against} (${checkout.commit.slice(0, 12)})`, commit: checkout.commit, identity: await old.identity(), image: old };
  } finally {
    checkout.remove();
  }
}

async function prepared(image: Image, target: Target, inv: Invocation, settings: Settings): Promise<Image> {
  const [validated] = prepare([{ ...target, image }], inv, settings);
  validated!.image.validate();
  const [result] = await resolveNativePlatforms([validated!], inv, settings);
  // Identities are memoised per Image: computing them now keeps the old tree's files read before it is removed.
  await result!.image.identity();
  for (let base = result!.image; base.base.type === "image"; base = base.base.image) await base.base.image.identity();
  return result!.image;
}

async function loadImage(file: string, shown: string, name: string): Promise<Image> {
  if (/\.ya?ml$/i.test(file)) return (await loadImageSpecFile(file)).toImage();
  const { images } = await importImages(file, shown);
  const image = images.get(name) ?? (images.size === 1 ? [...images.values()][0] : undefined);
  if (!image) {
    throw new ImageSpecError(
      "INVALID_SPEC",
      `Cannot compare against ${shown}: it has no image named ${JSON.stringify(name)} (it exports ${[...images.keys()].join(", ") || "none"})`,
      {
        field: "against",
        value: shown,
      },
    );
  }
  return image;
}
