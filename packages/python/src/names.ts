/** PEP 503 name normalization and PEP 508 requirement pieces, for comparing what different tools wrote. */

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

export interface RequirementParts {
  readonly name: string;
  readonly extras: readonly string[];
  /** The version specifier, or undefined. */
  readonly specifier: string | undefined;
  /** `name @ url`. */
  readonly url: string | undefined;
  readonly marker: string | undefined;
}

/** Splits a PEP 508 requirement already checked by core's grammar into its parts. */
export function splitRequirement(text: string): RequirementParts {
  const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(.*)$/s.exec(text)!;
  const name = m[1]!;
  const extras = (m[2] ?? "")
    .split(",")
    .map((e) => normalizeName(e.trim()))
    .filter((e) => e !== "")
    .sort();
  let rest = m[3]!.trim();
  let marker: string | undefined;
  let url: string | undefined;
  if (rest.startsWith("@")) {
    const urlMatch = /^@\s*(\S+)\s*(?:;(.*))?$/s.exec(rest)!;
    url = urlMatch[1];
    marker = urlMatch[2]?.trim() || undefined;
    rest = "";
  } else {
    const semi = rest.indexOf(";");
    if (semi >= 0) {
      marker = rest.slice(semi + 1).trim() || undefined;
      rest = rest.slice(0, semi).trim();
    }
  }
  const specifier = rest.replace(/^\(|\)$/g, "").trim() || undefined;
  return { name: normalizeName(name), extras, specifier, url, marker };
}

/** The extra a marker such as `extra == 'plot'` (alone or and-ed with others) selects, if any. */
export function markerExtra(marker: string | undefined): string | undefined {
  if (!marker) return undefined;
  const m = /\bextra\s*==\s*["']([^"']+)["']|["']([^"']+)["']\s*==\s*extra\b/.exec(marker);
  const extra = m?.[1] ?? m?.[2];
  return extra === undefined ? undefined : normalizeName(extra);
}
