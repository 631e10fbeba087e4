/** `imagespec tag`: each image's URI, without building. */

import { EXIT } from "../exit.js";
import { whileHashing } from "../hashing.js";
import { loadSettings, loadTargets } from "../load.js";
import type { Invocation } from "../main.js";

export async function run(inv: Invocation<"tag">): Promise<number> {
  const settings = await loadSettings(inv, { project: false });
  const targets = await loadTargets(inv, settings, "many");
  const identities = await whileHashing(inv.out, inv.cwd, () => Promise.all(targets.map((t) => t.image.identity())));
  if (inv.out.json) {
    inv.out.outJson(targets.map((t, i) => ({ name: t.name, file: t.file, id: identities[i]!.id, tag: identities[i]!.tag, uri: identities[i]!.uri })));
  } else {
    for (const identity of identities) inv.out.out(identity.uri);
  }
  return EXIT.ok;
}
