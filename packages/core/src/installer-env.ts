/**
 * Environment variables that configure package installers: pip's and uv's settings (`PIP_INDEX_URL`,
 * `UV_EXTRA_INDEX_URL`, ...), poetry's and conda's, the proxy variables and the CA bundle variables they read.
 * flytekit sets an ImageSpec's `env` before it installs packages, so such variables steer the installs; an
 * ImageSpec here moves them into an env layer ahead of the installs for the same effect, and leaves every other
 * variable after them (where a change does not invalidate the install layers' cache).
 */

const INSTALLER_PREFIXES = ["PIP_", "UV_", "POETRY_", "CONDA_", "MAMBA_", "MICROMAMBA_"] as const;
const INSTALLER_NAMES = new Set(["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"]);

/** True for a variable that package installers read (pip, uv, poetry, conda/micromamba, proxies, CA bundles). */
export function isInstallerVariable(name: string): boolean {
  const upper = name.toUpperCase();
  if (INSTALLER_NAMES.has(upper)) return upper === name || name === name.toLowerCase();
  return INSTALLER_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The variables split into those installers read and the rest, each in the order written. */
export function splitInstallerVariables(vars: Readonly<Record<string, string>>): { installer: Record<string, string>; other: Record<string, string> } {
  const installer: Record<string, string> = {};
  const other: Record<string, string> = {};
  for (const [name, value] of Object.entries(vars)) (isInstallerVariable(name) ? installer : other)[name] = value;
  return { installer, other };
}
