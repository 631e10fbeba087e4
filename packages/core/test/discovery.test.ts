import { lstatSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { discoverPlugins, findPackageJson } from "../src/discovery.js";
import { CORE_DIR, install, type Manager, pack, writePluginPackage } from "./support/plugin-packages.js";
import { project, write } from "./support/project.js";

/**
 * One consumer project per package manager, declaring: three plugins (one in each dependency field, one scoped, one
 * installed from a tarball like a registry package), a package that is no plugin, and four broken plugins.
 */
async function consumerProject(manager: Manager): Promise<string> {
  const dir = project({}, `imagespec-discovery-${manager}-`);
  const vendor = path.join(dir, "vendor");
  writePluginPackage(path.join(vendor, "alpha-builder"), { name: "alpha-builder", version: "1.2.3", builders: [{ type: "alpha", priority: 10 }] });
  writePluginPackage(path.join(vendor, "beta-builder"), { name: "beta-builder", version: "2.0.0", builders: [{ type: "beta", priority: 20 }] });
  writePluginPackage(path.join(vendor, "gamma"), { name: "@acme/gamma", builders: [{ type: "gamma", priority: 5 }] });
  writePluginPackage(path.join(vendor, "not-a-plugin"), { name: "not-a-plugin", entry: null, source: "export default 1;\n" });
  writePluginPackage(path.join(vendor, "broken-plugin"), { name: "broken-plugin", source: 'throw new Error("boom at import");\n' });
  writePluginPackage(path.join(vendor, "bad-export"), { name: "bad-export", source: "export default { name: 'bad-export', builders: [] };\n" });
  // A plugin from a core of another contract version: made with its definePlugin (the shared marker), stating "v2".
  writePluginPackage(path.join(vendor, "future-plugin"), {
    name: "future-plugin",
    source:
      'const p = { specificationVersion: "v2", name: "future-plugin", builders: [], requirementsFiles: [] };\nObject.defineProperty(p, Symbol.for("imagespec.plugin"), { value: true });\nexport default p;\n',
  });
  writePluginPackage(path.join(vendor, "missing-entry"), { name: "missing-entry", entry: "./dist/plugin.js" });
  writePluginPackage(path.join(vendor, "escaping-entry"), { name: "escaping-entry", entry: "../../outside.js" });
  writePluginPackage(path.join(vendor, "numeric-entry"), { name: "numeric-entry", entry: 42 });
  write(dir, { "outside.js": 'export default "never loaded";\n' });

  // npm: folders are linked, a tarball is extracted into a real folder (as from a registry). pnpm: copies in .pnpm.
  const beta =
    manager === "npm" ? `file:${path.relative(dir, await pack(path.join(vendor, "beta-builder"), path.join(dir, "tarballs")))}` : "file:./vendor/beta-builder";
  const core = manager === "npm" ? `file:${CORE_DIR}` : `link:${CORE_DIR}`;
  const manifest = {
    name: `consumer-${manager}`,
    version: "0.0.0",
    private: true,
    type: "module",
    dependencies: {
      "@imagespec/core": core,
      "alpha-builder": "file:./vendor/alpha-builder",
      "not-a-plugin": "file:./vendor/not-a-plugin",
      "broken-plugin": "file:./vendor/broken-plugin",
      "bad-export": "file:./vendor/bad-export",
      "future-plugin": "file:./vendor/future-plugin",
      "missing-entry": "file:./vendor/missing-entry",
      "escaping-entry": "file:./vendor/escaping-entry",
      "numeric-entry": "file:./vendor/numeric-entry",
    },
    devDependencies: { "beta-builder": beta },
    optionalDependencies: { "@acme/gamma": "file:./vendor/gamma" },
  };
  writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  await install(dir, manager);

  // Installed but not declared: discovery reads package.json, never scans node_modules.
  writePluginPackage(path.join(dir, "node_modules", "undeclared-plugin"), { name: "undeclared-plugin", builders: [{ type: "undeclared", priority: 1000 }] });
  // Declared but not installed (added after the install): nothing to load, nothing to report.
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ ...manifest, dependencies: { ...manifest.dependencies, ghost: "^1.0.0" } }, null, 2));
  return dir;
}

describe.each(["npm", "pnpm"] as const)("plugin discovery in a project installed by %s", (manager) => {
  let dir: string;
  beforeAll(async () => {
    dir = await consumerProject(manager);
  }, 180_000);

  it("loads the plugins the project declares, in every dependency field, sorted by package name", async () => {
    const result = await discoverPlugins(dir);
    expect(result.packageJson).toBe(path.join(dir, "package.json"));
    expect(result.plugins.map((p) => [p.packageName, p.version, p.plugin.name, p.plugin.builders.map((b) => `${b.type}:${b.priority}`)])).toEqual([
      ["@acme/gamma", "1.0.0", "@acme/gamma", ["gamma:5"]],
      ["alpha-builder", "1.2.3", "alpha-builder", ["alpha:10"]],
      ["beta-builder", "2.0.0", "beta-builder", ["beta:20"]],
    ]);
    for (const found of result.plugins) {
      expect(found.declaredIn).toBe(path.join(dir, "package.json"));
      expect(found.packageDir).toBe(path.join(dir, "node_modules", ...found.packageName.split("/")));
    }
  });

  it("resolves each package as the package manager laid it out", async () => {
    const alpha = path.join(dir, "node_modules", "alpha-builder");
    const beta = path.join(dir, "node_modules", "beta-builder");
    if (manager === "npm") {
      expect(realpathSync(alpha)).toBe(realpathSync(path.join(dir, "vendor", "alpha-builder"))); // a link to the folder
      expect(lstatSync(beta).isSymbolicLink()).toBe(false); // a real folder, extracted from the tarball
    } else {
      expect(realpathSync(alpha)).toContain(`${path.sep}.pnpm${path.sep}`); // pnpm's isolated store layout
      expect(realpathSync(beta)).toContain(`${path.sep}.pnpm${path.sep}`);
    }
    const result = await discoverPlugins(dir);
    expect(result.plugins.map((p) => p.packageName)).toContain("beta-builder");
  });

  it("reports each broken plugin as a failure naming its package, and still loads the others", async () => {
    const { failures, plugins } = await discoverPlugins(dir);
    expect(plugins).toHaveLength(3);
    expect(failures.map((f) => f.packageName)).toEqual(["bad-export", "broken-plugin", "escaping-entry", "future-plugin", "missing-entry", "numeric-entry"]);
    const reason = (name: string) => failures.find((f) => f.packageName === name)!.reason;
    expect(reason("broken-plugin")).toBe("loading ./plugin.js failed: boom at import");
    expect(reason("bad-export")).toBe("./plugin.js does not default-export a plugin made with definePlugin()");
    expect(reason("future-plugin")).toBe(
      'it is written for specificationVersion "v2", and this @imagespec/core implements "v1"; install versions of the plugin and of @imagespec/core that implement the same contract',
    );
    expect(reason("missing-entry")).toMatch(/^loading \.\/dist\/plugin\.js failed: Cannot find module/);
    expect(reason("escaping-entry")).toMatch(/\(\.\.\/\.\.\/outside\.js\) points outside its package/);
    expect(reason("numeric-entry")).toMatch(/"imagespec\.plugin" in its package\.json must be a path/);
  });

  it("never loads an installed package the project does not declare, and ignores a declared one that is not installed", async () => {
    const { plugins, failures } = await discoverPlugins(dir);
    expect(plugins.map((p) => p.packageName)).not.toContain("undeclared-plugin");
    expect(failures.map((f) => f.packageName)).not.toContain("ghost");
    expect(failures.map((f) => f.packageName)).not.toContain("not-a-plugin");
  });

  it("finds the project's package.json from a folder inside it", async () => {
    const nested = path.join(dir, "src", "deep", "er");
    mkdirSync(nested, { recursive: true });
    const result = await discoverPlugins(nested);
    expect(result.packageJson).toBe(path.join(dir, "package.json"));
    expect(result.plugins).toHaveLength(3);
  });
});

describe("plugin discovery edge cases", () => {
  it("finds nothing, and fails nothing, without a package.json", async () => {
    const dir = project({}, "imagespec-nopkg-");
    // tmp folders have no package.json above them on the test machines
    expect(findPackageJson(dir)).toBeUndefined();
    expect(await discoverPlugins(dir)).toEqual({ packageJson: undefined, plugins: [], failures: [] });
  });

  it("reports an unreadable package.json instead of crashing", async () => {
    const dir = project({ "package.json": "{ not json" });
    const result = await discoverPlugins(dir);
    expect(result.plugins).toEqual([]);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.packageName).toBe(path.join(dir, "package.json"));
    expect(result.failures[0]!.reason).toMatch(/^cannot read it: /);
  });

  it("resolves a dependency from a node_modules folder above the project (hoisted workspaces)", async () => {
    const workspace = project({ "package.json": JSON.stringify({ name: "ws", private: true }) });
    writePluginPackage(path.join(workspace, "node_modules", "hoisted-plugin"), { name: "hoisted-plugin", builders: [{ type: "hoisted", priority: 1 }] });
    mkdirSync(path.join(workspace, "node_modules", "@imagespec"), { recursive: true });
    symlinkSync(CORE_DIR, path.join(workspace, "node_modules", "@imagespec", "core"));
    write(workspace, { "packages/app/package.json": JSON.stringify({ name: "app", dependencies: { "hoisted-plugin": "*" } }) });
    const result = await discoverPlugins(path.join(workspace, "packages", "app"));
    expect(result.plugins.map((p) => p.packageName)).toEqual(["hoisted-plugin"]);
    expect(result.plugins[0]!.packageDir).toBe(path.join(workspace, "node_modules", "hoisted-plugin"));
  });
});
