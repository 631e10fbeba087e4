/** `imagespec dockerfile`: the build file the chosen builder would build from. */

import { ImageSpecError } from "@imagespec/core";
import { EXIT } from "../exit.js";
import { whileHashing } from "../hashing.js";
import { builderOverride, loadSettings, loadTargets } from "../load.js";
import type { Invocation } from "../main.js";

export async function run(inv: Invocation<"dockerfile">): Promise<number> {
  const settings = await loadSettings(inv, { project: true });
  const [target] = await loadTargets(inv, settings, "one");
  const { name, image } = target!;
  const engine = settings.project!.engine;
  const selected = engine.select(image, builderOverride(inv, settings));
  const { builder } = selected;
  if (!builder.render) {
    throw new ImageSpecError("NO_BUILDER", `Cannot print the build file of ${name}: the ${builder.type} builder does not render one`, {
      field: "builder",
      value: builder.type,
      hint: "Pick a builder that builds from a file, e.g. --builder docker (Dockerfile) or --builder envd (build.envd).",
    });
  }
  const identity = await whileHashing(inv.out, inv.cwd, () => image.identity());
  const baseUri = image.base.type === "image" ? await image.base.image.uri() : undefined;
  const rendered = await builder.render(image, { identity, baseUri, config: engine.configFor(image, selected) });
  inv.out.err(inv.out.style.dim(`# ${rendered.filename} for ${name} (${builder.type} builder), ${identity.uri}`));
  inv.out.out(rendered.content);
  return EXIT.ok;
}
