/**
 * One hashing run in a process of its own: `node dist/hash-child.js <folder> <cache dir or "none"> [files|core]`.
 * Prints one JSON line: the digest, the files, the wall time and the peak RSS.
 *
 * `files` (the default) loads `@imagespec/core/files`, what a program that only hashes pays for; `core` loads the whole
 * main entry (the model, zod, the engine), as `imagespec build` does before it hashes. The bench reports both.
 */

const [folder, cache, entry = "files"] = process.argv.slice(2);
if (!folder || !cache || (entry !== "files" && entry !== "core")) {
  console.error("usage: hash-child <folder> <cache dir | none> [files | core]");
  process.exit(2);
}
const { FileHasher } = entry === "core" ? await import("@imagespec/core") : await import("@imagespec/core/files");
const started = performance.now();
const hasher = new FileHasher({ cacheDir: cache === "none" ? false : cache });
const digest = await hasher.hashFolder(folder);
const ms = performance.now() - started;
console.log(JSON.stringify({ digest: digest.digest, files: digest.entries.length, ms, maxRssKiB: process.resourceUsage().maxRSS }));
