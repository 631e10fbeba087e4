import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { normalizeProjectName } from "./wheel.js";

export interface PackageIndex {
  /** Index URL for pip's --index-url, e.g. http://127.0.0.1:41234/simple */
  url: string;
  /** Paths requested so far, in order (e.g. "/simple/my-package/", "/files/my_package-1.0-py3-none-any.whl"). */
  requests: string[];
  close(): Promise<void>;
}

export interface PackageIndexOptions {
  /** Address to listen on; default 127.0.0.1 (reachable from containers run with --network host). */
  host?: string;
  /** Require HTTP basic auth with these credentials (401 with a challenge otherwise), as a private index does. */
  basicAuth?: { username: string; password: string };
  /**
   * Port to listen on; default an ephemeral one. A fixed port is for definitions written in files (an index URL is
   * part of an image's definition); a port in use fails with EADDRINUSE.
   */
  port?: number;
}

interface Distribution {
  filename: string;
  sha256: string;
  data: Buffer;
}

/** Project name of a distribution file: a wheel (name-version-...-tags.whl) or an sdist (name-version.tar.gz). */
function projectOf(filename: string): string {
  if (filename.endsWith(".whl")) {
    const parts = filename.slice(0, -4).split("-");
    if (parts.length < 5 || !parts[0]) throw new Error(`Cannot serve ${filename}: not a wheel file name (name-version-python-abi-platform.whl).`);
    return normalizeProjectName(parts[0]);
  }
  const sdist = /^(.+)-[^-]+\.(tar\.gz|zip)$/.exec(filename);
  if (sdist?.[1]) return normalizeProjectName(sdist[1]);
  throw new Error(`Cannot serve ${filename}: only .whl, .tar.gz and .zip distributions are supported.`);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function page(title: string, links: [href: string, text: string][]): string {
  const body = links.map(([href, text]) => `    <a href="${escapeHtml(href)}">${escapeHtml(text)}</a><br/>`).join("\n");
  return `<!DOCTYPE html>\n<html>\n  <head><meta name="pypi:repository-version" content="1.0"><title>${escapeHtml(title)}</title></head>\n  <body>\n${body}\n  </body>\n</html>\n`;
}

/**
 * Serves the given distribution files as a PEP 503 "simple" repository over HTTP on an ephemeral port:
 * /simple/ lists the normalized project names, /simple/<project>/ links each file with a #sha256= fragment,
 * /files/<filename> serves the bytes. Non-normalized project URLs redirect to the normalized one. With `basicAuth`,
 * every request without those credentials gets 401.
 */
export async function servePackageIndex(wheels: string[], opts: PackageIndexOptions = {}): Promise<PackageIndex> {
  const projects = new Map<string, Distribution[]>();
  const files = new Map<string, Distribution>();
  for (const file of wheels) {
    const filename = path.basename(file);
    if (files.has(filename)) throw new Error(`Cannot serve ${file}: another file is also named ${filename}.`);
    const data = await readFile(file);
    const dist = { filename, data, sha256: createHash("sha256").update(data).digest("hex") };
    files.set(filename, dist);
    const project = projectOf(filename);
    projects.set(project, [...(projects.get(project) ?? []), dist]);
  }

  type Response = [status: number, type: string, body: string | Buffer, headers?: Record<string, string>];
  const route = (method: string, pathname: string): Response => {
    if (method !== "GET" && method !== "HEAD") return [405, "text/plain", "method not allowed\n", { allow: "GET, HEAD" }];
    if (pathname === "/simple" || pathname === "/") return [301, "text/plain", "", { location: "/simple/" }];
    if (pathname === "/simple/") {
      const names = [...projects.keys()].sort();
      return [
        200,
        "text/html; charset=utf-8",
        page(
          "Simple index",
          names.map((n) => [`/simple/${n}/`, n]),
        ),
      ];
    }
    const project = /^\/simple\/([^/]+)(\/?)$/.exec(pathname);
    if (project) {
      const [, requested = "", slash] = project;
      const normalized = normalizeProjectName(requested);
      if (requested !== normalized || !slash) return [301, "text/plain", "", { location: `/simple/${normalized}/` }];
      const dists = projects.get(normalized);
      if (!dists) return [404, "text/plain", `no project ${normalized}\n`];
      const links = dists.map((d): [string, string] => [`/files/${encodeURIComponent(d.filename)}#sha256=${d.sha256}`, d.filename]);
      return [200, "text/html; charset=utf-8", page(`Links for ${normalized}`, links)];
    }
    const file = /^\/files\/([^/]+)$/.exec(pathname);
    const dist = file?.[1] ? files.get(file[1]) : undefined;
    if (dist) return [200, "application/octet-stream", dist.data];
    return [404, "text/plain", "not found\n"];
  };

  const requests: string[] = [];
  const expectedAuth = opts.basicAuth && `Basic ${Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString("base64")}`;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? "/", "http://index.invalid").pathname);
    } catch {
      pathname = req.url ?? "/";
    }
    requests.push(pathname);
    if (expectedAuth !== undefined && req.headers.authorization !== expectedAuth) {
      res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Basic realm="imagespec test index"' });
      res.end("credentials required\n");
      return;
    }
    const [status, type, body, headers] = route(req.method ?? "GET", pathname);
    res.writeHead(status, { "content-type": type, "content-length": String(Buffer.byteLength(body)), ...headers });
    res.end(req.method === "HEAD" ? undefined : body);
  };

  const server = createServer(handle);
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  return {
    url: `http://${urlHost}:${port}/simple`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
