/** `imagespec builders`: what is registered for this project, and what failed to load. */

import { EXIT } from "../exit.js";
import { loadSettings } from "../load.js";
import type { Invocation } from "../main.js";

export async function run(inv: Invocation<"builders">): Promise<number> {
  const { out } = inv;
  const { project } = await loadSettings(inv, { project: true, warnPluginFailures: false });
  const { builders, failures, warnings, configFile, packageJson } = project!;
  if (out.json) {
    out.outJson({
      configFile: configFile ?? null,
      packageJson: packageJson ?? null,
      builders: builders.map((b) => ({
        type: b.type,
        priority: b.priority,
        plugin: b.plugin,
        package: b.packageName ?? null,
        version: b.version ?? null,
        via: b.via,
        from: b.via === "config" ? (configFile ?? null) : (b.from ?? null),
        description: b.description ?? null,
      })),
      failures: failures.map((f) => ({ package: f.packageName, reason: f.reason })),
      warnings,
    });
    return EXIT.ok;
  }
  if (builders.length === 0) {
    out.out(
      `No builders found${packageJson ? ` in the dependencies of ${packageJson}` : " (no package.json found)"}${configFile ? ` or in ${configFile}` : ""}.`,
    );
    out.out("Add one, e.g. npm install @imagespec/builder-docker (discovery reads the dependencies your package.json declares).");
  } else {
    const rows = builders.map((b) => [
      b.type,
      String(b.priority),
      b.packageName ?? b.plugin,
      b.version ?? "-",
      b.via === "config" ? `config ${configFile ?? ""}`.trim() : `dependency in ${b.from ?? "package.json"}`,
    ]);
    table(out, ["TYPE", "PRIORITY", "PACKAGE", "VERSION", "FOUND"], rows);
  }
  if (failures.length > 0) {
    out.out("");
    out.out("Plugins that failed to load:");
    for (const f of failures) out.out(`  ${f.packageName}: ${f.reason}`);
  }
  if (warnings.length > 0) {
    out.out("");
    out.out("Configuration warnings:");
    for (const w of warnings) out.out(`  ${w}`);
  }
  return EXIT.ok;
}

function table(out: Invocation["out"], header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  out.out(line(header));
  for (const row of rows) out.out(line(row));
}
