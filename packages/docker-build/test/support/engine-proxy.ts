/** 127.0.0.1:<port> forwarding to the local engine's socket, to count connections and to make the engine "die". */
import net from "node:net";
import Docker from "dockerode";
import type { EngineConnection } from "../../src/engine.js";

export interface EngineProxy {
  readonly connection: EngineConnection;
  /** Client connections open right now (the session's, the build's, ...). */
  readonly open: ReadonlySet<net.Socket>;
  /** Resets every connection and stops listening, as a dying engine's kernel would. */
  kill(): void;
  close(): void;
}

export async function engineProxy(dockerHost: string): Promise<EngineProxy> {
  const socketPath = dockerHost.replace(/^unix:\/\//, "");
  const clients = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ path: socketPath });
    clients.add(client);
    client.on("error", () => {}).on("close", () => clients.delete(client));
    upstream.on("error", () => {});
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    connection: { docker: new Docker({ protocol: "http", host: "127.0.0.1", port }), endpoint: `tcp://127.0.0.1:${port}` },
    open: clients,
    kill() {
      server.close();
      // The client side is TCP: reset it (the engine's own socket is a pipe).
      for (const s of clients) s.resetAndDestroy();
    },
    close() {
      server.close();
    },
  };
}
