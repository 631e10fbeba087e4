/**
 * The registry client's HTTP exchanges through `node:http`/`node:https` rather than the global `fetch`: loading
 * fetch (undici) costs a new process more than the whole registry round trip of a no-op build. Only what the client
 * uses is implemented: a method, headers, a bytes body, an abort signal, redirects followed (Authorization is not
 * carried to another origin, as fetch does), and an answer with `status`, `statusText`, `headers.get`, a body to read
 * whole or to let go.
 */

import type { Agent, IncomingMessage } from "node:http";
import { Readable } from "node:stream";

export interface HttpInit {
  readonly method: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly signal?: AbortSignal;
}

/** The part of a fetch `Response` the registry client reads; a real Response (from an injected fetch) fits too. */
export interface HttpAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: { cancel(): Promise<void> } | null;
  arrayBuffer(): Promise<ArrayBuffer>;
  /** The body as it arrives, for a read that stops at a size limit (instead of `arrayBuffer`). */
  stream?(): AsyncIterable<Uint8Array>;
}

/** The body of an answer (ours or a fetch Response) as chunks, when it can be streamed. */
export function bodyStream(answer: HttpAnswer): AsyncIterable<Uint8Array> | undefined {
  if (answer instanceof Response) return (answer.body ?? undefined) as AsyncIterable<Uint8Array> | undefined;
  return answer.stream?.();
}

export type HttpTransport = (url: string, init: HttpInit) => Promise<HttpAnswer>;

const MAX_REDIRECTS = 5;

/** A transport with its own keep-alive agents, so a token request and the manifest request share a connection. */
export function nodeHttpTransport(): HttpTransport {
  let agents:
    | Promise<{ http: Agent; https: Agent; request: typeof import("node:http").request; httpsRequest: typeof import("node:https").request }>
    | undefined;
  const load = () => {
    agents ??= Promise.all([import("node:http"), import("node:https")]).then(([http, https]) => ({
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({ keepAlive: true }),
      request: http.request,
      httpsRequest: https.request,
    }));
    return agents;
  };
  return async (url, init) => {
    const modules = await load();
    let target = new URL(url);
    let method = init.method;
    let body = init.body;
    const headers: Record<string, string> = { ...init.headers };
    for (let redirects = 0; ; redirects++) {
      const response = await exchange(modules, target, method, headers, body, init.signal);
      const location = response.headers.location;
      if (response.statusCode === undefined || ![301, 302, 303, 307, 308].includes(response.statusCode) || !location || redirects >= MAX_REDIRECTS) {
        return answer(response);
      }
      response.resume();
      const next = new URL(location, target);
      if (next.origin !== target.origin) deleteHeader(headers, "authorization");
      if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === "POST")) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = undefined;
        deleteHeader(headers, "content-type");
        deleteHeader(headers, "content-length");
      }
      target = next;
    }
  };
}

function deleteHeader(headers: Record<string, string>, name: string): void {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) delete headers[key];
}

function exchange(
  modules: { http: Agent; https: Agent; request: typeof import("node:http").request; httpsRequest: typeof import("node:https").request },
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | Uint8Array | undefined,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:") {
      reject(new TypeError(`unsupported protocol ${url.protocol}`));
      return;
    }
    const send = secure ? modules.httpsRequest : modules.request;
    const request = send(url, { method, headers, agent: secure ? modules.https : modules.http, ...(signal && { signal }) }, resolve);
    request.on("error", reject);
    request.end(body);
  });
}

function answer(response: IncomingMessage): HttpAnswer {
  let consumed = false;
  const take = () => {
    if (consumed) throw new TypeError("the body was already read");
    consumed = true;
  };
  return {
    status: response.statusCode ?? 0,
    statusText: response.statusMessage ?? "",
    headers: {
      get(name) {
        const value = response.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    },
    body: {
      cancel: async () => {
        if (consumed) return;
        consumed = true;
        // Drained rather than destroyed: a small error body read to its end lets the connection be reused.
        response.resume();
      },
    },
    arrayBuffer: async () => {
      take();
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
    stream: () => {
      take();
      return response;
    },
    // For `RegistryClient.request`, which hands out a real Response.
    [STREAM]: () => {
      take();
      return response;
    },
  } as HttpAnswer;
}

const STREAM = Symbol("imagespec.httpStream");

/** A fetch `Response` for an answer (what `RegistryClient.request` promises its callers), streaming its body. */
export function toResponse(answer: HttpAnswer, method: string): Response {
  if (answer instanceof Response) return answer;
  const stream = (answer as unknown as { [STREAM]?: () => IncomingMessage })[STREAM];
  const nullBody = method === "HEAD" || [101, 204, 205, 304].includes(answer.status);
  const headers = new Headers();
  let body: ReadableStream | null = null;
  if (stream) {
    const incoming = stream();
    for (let i = 0; i < incoming.rawHeaders.length; i += 2) headers.append(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!);
    if (nullBody) incoming.resume();
    else body = Readable.toWeb(incoming) as ReadableStream;
  }
  return new Response(body, { status: answer.status < 200 || answer.status > 599 ? 500 : answer.status, statusText: answer.statusText, headers });
}
