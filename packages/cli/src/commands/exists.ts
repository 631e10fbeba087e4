/** `imagespec exists`: 0 every image present, 1 one absent, 3 one unknown (with the reason). */

import type { Existence } from "@imagespec/core";
import { EXIT } from "../exit.js";
import { whileHashing } from "../hashing.js";
import { builderOverride, loadSettings, loadTargets } from "../load.js";
import type { Invocation } from "../main.js";

export async function run(inv: Invocation<"exists">): Promise<number> {
  const settings = await loadSettings(inv, { project: true, deferBuilders: true });
  const targets = await loadTargets(inv, settings, "many");
  // The tags first, with hashing progress; the existence checks below reuse them.
  await whileHashing(inv.out, inv.cwd, () => Promise.all(targets.map((t) => t.image.identity())));
  const results = await Promise.all(
    targets.map(async ({ name, file, image }) => {
      const uri = await image.uri();
      // An image with a registry is a question for the registry alone; a local one for the engine of its builder.
      const existence: Existence =
        image.registry !== undefined ? await image.exists() : await settings.project!.engine.existence(image, { builder: builderOverride(inv, settings) });
      const digest = existence.status === "present" ? (existence.digest ?? null) : null;
      // Absent may say why too: an index that lacks a platform.
      const reason = existence.status !== "present" ? (existence.reason ?? null) : null;
      // An index: each platform's manifest digest.
      const platforms = existence.status === "present" ? (existence.platforms ?? null) : null;
      return { name, file, uri, status: existence.status, digest, platforms, reason };
    }),
  );
  if (inv.out.json) {
    // One image (the single-image form): an object, as before; several: an array of the same objects.
    inv.out.outJson(results.length === 1 ? results[0] : results);
  } else {
    for (const r of results) {
      inv.out.out(`${r.status} ${r.uri}${r.digest ? ` ${r.digest}` : ""}${r.reason ? `: ${r.reason}` : ""}`);
      for (const p of r.platforms ?? []) inv.out.out(`  ${p.platform} ${p.digest}`);
    }
  }
  const statuses = new Set(results.map((r) => r.status));
  return statuses.has("unknown") ? EXIT.environment : statuses.has("absent") ? EXIT.failed : EXIT.ok;
}
