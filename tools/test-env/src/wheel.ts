import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { deflateRawSync } from "node:zlib";

export interface WheelSpec {
  /** Distribution name (PEP 508), e.g. "my-package". */
  name: string;
  /** Version (PEP 440), e.g. "1.0.0". */
  version: string;
  /** Files of the wheel by path inside it, e.g. { "my_package/__init__.py": "VALUE = 1\n" }. */
  modules: Record<string, string>;
  /** Requirements, one Requires-Dist line each, e.g. ["other-package>=1"]. */
  requires?: string[];
}

const NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+!_-]*$/;

/** PEP 503 normalized project name: lowercase, runs of -_. become "-". */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** The name as it appears in wheel file names and .dist-info directories. */
function escapeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "_");
}

/**
 * Writes a pure-Python wheel `<name>-<version>-py3-none-any.whl` (METADATA, WHEEL, RECORD with sha256
 * hashes, Requires-Dist lines) into dir and returns its path. The bytes depend only on the spec (fixed
 * timestamps, sorted entries), so the same spec always gives the same file.
 */
export async function buildWheel(dir: string, spec: WheelSpec): Promise<string> {
  const { name, version } = spec;
  if (!NAME.test(name)) throw new Error(`Cannot build a wheel: ${JSON.stringify(name)} is not a valid distribution name.`);
  if (!VERSION.test(version)) throw new Error(`Cannot build a wheel of ${name}: ${JSON.stringify(version)} is not a valid version.`);
  for (const requirement of spec.requires ?? []) {
    if (!requirement.trim() || /[\r\n]/.test(requirement)) {
      throw new Error(`Cannot build a wheel of ${name}: ${JSON.stringify(requirement)} is not a valid requirement.`);
    }
  }

  const distName = escapeName(name);
  const escapedVersion = version.replace(/-/g, "_");
  const distInfo = `${distName}-${escapedVersion}.dist-info`;
  const files = new Map<string, Buffer>();
  for (const [file, content] of Object.entries(spec.modules).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const parts = file.split("/");
    if (!file || file.startsWith("/") || file.includes("\\") || parts.some((p) => p === "" || p === "." || p === "..")) {
      throw new Error(`Cannot build a wheel of ${name}: module path ${JSON.stringify(file)} must be relative, like "pkg/__init__.py".`);
    }
    if (parts[0]?.endsWith(".dist-info")) {
      throw new Error(`Cannot build a wheel of ${name}: module path ${JSON.stringify(file)} is inside a .dist-info directory.`);
    }
    files.set(file, Buffer.from(content, "utf8"));
  }

  const metadata = [
    "Metadata-Version: 2.1",
    `Name: ${name}`,
    `Version: ${version}`,
    ...(spec.requires ?? []).map((r) => `Requires-Dist: ${r.trim()}`),
    "",
  ].join("\n");
  const wheelFile = ["Wheel-Version: 1.0", "Generator: imagespec-test-env", "Root-Is-Purelib: true", "Tag: py3-none-any", ""].join("\n");
  files.set(`${distInfo}/METADATA`, Buffer.from(metadata, "utf8"));
  files.set(`${distInfo}/WHEEL`, Buffer.from(wheelFile, "utf8"));

  const record = [...files].map(([file, data]) => `${csvField(file)},sha256=${createHash("sha256").update(data).digest("base64url")},${data.length}`);
  record.push(`${csvField(`${distInfo}/RECORD`)},,`, "");
  files.set(`${distInfo}/RECORD`, Buffer.from(record.join("\n"), "utf8"));

  await mkdir(dir, { recursive: true });
  const target = path.join(dir, `${distName}-${escapedVersion}-py3-none-any.whl`);
  await writeFile(target, zip([...files]));
  return target;
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

// ---------------------------------------------------------------------------------------------
// A minimal deterministic ZIP writer (deflate, fixed 1980-01-01 timestamps, regular files 0644).

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function zip(entries: [string, Buffer][]): Buffer {
  const DOS_TIME = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  const UTF8 = 0x0800;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, "utf8");
    const compressed = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(UTF8, 6);
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, nameBytes, compressed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(UTF8, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);

    offset += local.length + nameBytes.length + compressed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, ...centrals, end]);
}
