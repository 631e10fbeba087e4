/** `imagespec exists`: 0 present, 1 absent, 3 unknown (with the reason). */

import type { Existence } from "@imagespec/core";
import { EXIT } from "../exit.js";
import { builderOverride, loadSettings, loadTargets } from "../load.js";
import type { Invocation } from "../main.js";

export async function run(inv: Invocation): Promise<number> {
  const settings = await loadSettings(inv, { project: true });
  const [target] = await loadTargets(inv, settings, "one");
  const { name, image } = target!;
  const uri = await image.uri();
  // An image with a registry is a question for the registry alone; a local one for the engine of its builder.
  const existence: Existence = image.registry !== undefined ? await image.exists() : await settings.project!.engine.existence(image, { builder: builderOverride(inv, settings) });
  const digest = existence.status === "present" ? (existence.digest ?? null) : null;
  const reason = existence.status !== "present" ? (existence.reason ?? null) : null;
  // An index: each platform's manifest digest.
  const platforms = existence.status === "present" ? (existence.platforms ?? null) : null;
  if (inv.out.json) {
    inv.out.outJson({ name, uri, status: existence.status, digest, platforms, reason });
  } else {
    inv.out.out(`${existence.status} ${uri}${digest ? ` ${digest}` : ""}${reason ? `: ${reason}` : ""}`);
    for (const p of platforms ?? []) inv.out.out(`  ${p.platform} ${p.digest}`);
  }
  return existence.status === "present" ? EXIT.ok : existence.status === "absent" ? EXIT.failed : EXIT.environment;
}
