/**
 * A small HTTP proxy on 127.0.0.1 in front of a real registry, that answers chosen requests with a fault instead of
 * passing them on: a server error, a refusal, rate limiting, a hang, a reset connection, a slow answer, a full disk,
 * or a 200 that is not a manifest (a captive portal's page). Everything else goes to the registry unchanged, so the
 * client (imagespec's registry client, or a Docker engine pushing) talks to a real registry with one thing broken.
 */

import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Fault =
  | { readonly kind: "status"; readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }
  /** Reads the request, then never answers (the connection stays open). */
  | { readonly kind: "hang" }
  /** Destroys the connection without an answer. */
  | { readonly kind: "reset" }
  /** Passes the request on, and waits this long before it starts answering. */
  | { readonly kind: "slow"; readonly delayMs: number }
  /** 200 with an HTML page, as a captive portal or a misrouted proxy answers. */
  | { readonly kind: "html" };

export interface FaultRequest {
  readonly method: string;
  readonly url: string;
}

export interface FaultProxy {
  /** `127.0.0.1:<port>`, a registry host for references and for a Docker engine (loopback: plain HTTP). */
  readonly host: string;
  /** Every request seen, in order, and whether a fault answered it. */
  readonly requests: readonly (FaultRequest & { readonly fault: Fault["kind"] | undefined })[];
  /** Replaces the rule that picks a fault for a request (undefined passes the request on). */
  setFault(rule: (request: FaultRequest) => Fault | undefined): void;
  close(): Promise<void>;
}

export const CAPTIVE_PORTAL_PAGE = "<!doctype html><html><head><title>Sign in to the network</title></head><body>Please sign in.</body></html>\n";

/** Starts a fault proxy in front of `upstream` (`host:port`, plain HTTP). */
export async function startFaultProxy(upstream: string, rule: (request: FaultRequest) => Fault | undefined = () => undefined): Promise<FaultProxy> {
  const [upstreamHost, upstreamPort] = upstream.split(":") as [string, string];
  let current = rule;
  const requests: (FaultRequest & { fault: Fault["kind"] | undefined })[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const request = { method: req.method ?? "GET", url: req.url ?? "/" };
    const fault = current(request);
    requests.push({ ...request, fault: fault?.kind });
    if (fault === undefined || fault.kind === "slow") {
      const forward = () => {
        const upstreamRequest = http.request(
          { host: upstreamHost, port: Number(upstreamPort), method: req.method, path: req.url, headers: { ...req.headers, host: upstream } },
          (upstreamResponse) => {
            const headers = { ...upstreamResponse.headers };
            // Upload locations point at the registry itself: keep the client on the proxy.
            if (typeof headers.location === "string") headers.location = headers.location.replace(`//${upstream}`, `//${req.headers.host}`);
            res.writeHead(upstreamResponse.statusCode ?? 502, headers);
            upstreamResponse.pipe(res);
          },
        );
        upstreamRequest.on("error", () => res.destroy());
        req.pipe(upstreamRequest);
      };
      if (fault?.kind === "slow") {
        req.pause();
        const timer = setTimeout(() => {
          timers.delete(timer);
          req.resume();
          forward();
        }, fault.delayMs);
        timers.add(timer);
      } else {
        forward();
      }
      return;
    }
    // Read the request body first, as a real server would, so the client is waiting for the answer.
    req.resume();
    req.on("end", () => {
      switch (fault.kind) {
        case "status":
          res.writeHead(fault.status, { "Content-Type": "application/json", ...fault.headers });
          res.end(fault.body ?? JSON.stringify({ errors: [{ code: "UNKNOWN", message: `fault proxy: ${fault.status}` }] }));
          break;
        case "html":
          res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Length": String(Buffer.byteLength(CAPTIVE_PORTAL_PAGE)) });
          res.end(req.method === "HEAD" ? undefined : CAPTIVE_PORTAL_PAGE);
          break;
        case "reset":
          req.socket.destroy();
          break;
        case "hang":
          break;
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    setFault(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
