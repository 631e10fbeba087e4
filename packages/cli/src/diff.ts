/** Which tag inputs differ between two identities of the same image, and for folders, which files. */

import type { FolderEntry, ImageIdentity, TagInput } from "@imagespec/core";

export type Change = "changed" | "added" | "removed";

export interface FileChange {
  readonly path: string;
  readonly change: Change;
  /** What about it changed, when it was there before and after: `content`, `mode` (permission bits), `type`, `target`. */
  readonly what?: readonly string[];
  readonly before: string | null;
  readonly after: string | null;
}

export interface InputChange {
  readonly input: string;
  readonly change: Change;
  readonly before: string | null;
  readonly after: string | null;
  readonly detailBefore: string | null;
  readonly detailAfter: string | null;
  /** For folders: the files whose entries differ. */
  readonly files?: readonly FileChange[];
  /** For a changed `base` that is an Image: the base's own inputs that differ (explain --against follows them down). */
  readonly changes?: readonly InputChange[];
}

export function diffIdentities(before: ImageIdentity, after: ImageIdentity): InputChange[] {
  const old = new Map(before.inputs.map((i) => [i.name, i]));
  const now = new Map(after.inputs.map((i) => [i.name, i]));
  const changes: InputChange[] = [];
  for (const input of after.inputs) {
    const previous = old.get(input.name);
    if (!previous) changes.push(entry(input.name, "added", undefined, input));
    else if (previous.digest !== input.digest) changes.push(entry(input.name, "changed", previous, input));
  }
  for (const input of before.inputs) if (!now.has(input.name)) changes.push(entry(input.name, "removed", input, undefined));
  return changes;
}

function entry(name: string, change: Change, before: TagInput | undefined, after: TagInput | undefined): InputChange {
  const files = isFolder(before) || isFolder(after) ? diffEntries(before?.files ?? [], after?.files ?? []) : undefined;
  return {
    input: name,
    change,
    before: before?.digest ?? null,
    after: after?.digest ?? null,
    detailBefore: before?.detail ?? null,
    detailAfter: after?.detail ?? null,
    ...(files !== undefined && { files }),
  };
}

/** A folder input lists its entries; a single file is one entry named `.`. */
export function isFolder(input: TagInput | undefined): boolean {
  const files = input?.files;
  return files !== undefined && !(files.length === 1 && files[0]!.path === ".");
}

function diffEntries(before: readonly FolderEntry[], after: readonly FolderEntry[]): FileChange[] {
  const old = new Map(before.map((e) => [e.path, e]));
  const now = new Map(after.map((e) => [e.path, e]));
  const changes: FileChange[] = [];
  for (const e of after) {
    const previous = old.get(e.path);
    if (!previous) {
      changes.push({ path: e.path, change: "added", before: null, after: e.digest ?? null });
      continue;
    }
    const what = [
      previous.type !== e.type && "type",
      previous.digest !== e.digest && "content",
      previous.mode !== e.mode && "mode",
      previous.target !== e.target && "target",
    ].filter((w): w is string => w !== false);
    if (what.length > 0) changes.push({ path: e.path, change: "changed", what, before: previous.digest ?? null, after: e.digest ?? null });
  }
  for (const e of before) if (!now.has(e.path)) changes.push({ path: e.path, change: "removed", before: e.digest ?? null, after: null });
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
