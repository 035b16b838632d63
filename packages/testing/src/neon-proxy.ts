import { connect, type Socket } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

export interface NeonProxy {
  /** For `neonConfig.wsProxy` (or createDb's `neon.wsProxy`): where the driver opens its WebSocket. */
  wsProxy: (host: string, port: number | string) => string;
  port: number;
  /** WebSocket connections accepted so far: proof that the driver's traffic went through here. */
  readonly connections: number;
  /** Connections whose Postgres socket is still open. */
  readonly open: number;
  stop(): Promise<void>;
}

/**
 * A WebSocket-to-TCP proxy, what Neon runs in front of its Postgres: the Neon serverless driver
 * speaks the Postgres wire protocol in binary WebSocket frames, and this pipes each connection's
 * bytes to the TCP address named in the URL (`/v1?address=host:port`) and back. Local only, for
 * tests: no TLS, no authentication.
 */
export async function startNeonProxy(): Promise<NeonProxy> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as { port: number };
  const sockets = new Set<Socket>();
  let connections = 0;

  server.on("connection", (ws: WebSocket, request) => {
    connections++;
    const address = new URL(request.url ?? "/", "http://proxy").searchParams.get("address") ?? "";
    const colon = address.lastIndexOf(":");
    const tcp = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
    sockets.add(tcp);
    // Bytes the driver sends before the TCP connection is up wait in the socket's write buffer.
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      tcp.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
    });
    tcp.on("data", (chunk) => ws.send(chunk, { binary: true }));
    tcp.on("close", () => {
      sockets.delete(tcp);
      ws.close();
    });
    tcp.on("error", () => ws.terminate());
    ws.on("close", () => tcp.end());
    ws.on("error", () => tcp.destroy());
  });

  return {
    wsProxy: (host, pgPort) => `127.0.0.1:${port}/v1?address=${host}:${pgPort}`,
    port,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    stop: async () => {
      for (const ws of server.clients) ws.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}
