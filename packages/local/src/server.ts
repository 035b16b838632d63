import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { HttpRoute } from "../../../infra/topology.ts";
import { createDispatcher } from "./dispatch.ts";

/** API Gateway refuses request payloads over 10 MB, Lambda over 6 MB; we stop reading at the latter. */
const MAX_REQUEST_BYTES = 6 * 1024 * 1024;

class TooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(new TooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export interface LocalServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Serves the topology's routes over HTTP on one machine, through the same handler modules. */
export async function startHttpServer(
  routes: readonly HttpRoute[],
  options: { port: number; host?: string },
): Promise<LocalServer> {
  const dispatch = createDispatcher(routes);
  const server = createServer(async (req, res) => {
    const send = (status: number, headers: Record<string, string>, body: string) => {
      res.writeHead(status, { "content-length": Buffer.byteLength(body), ...headers });
      res.end(body);
    };
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const body = await readBody(req);
      const response = await dispatch({
        method: req.method ?? "GET",
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers: req.headers,
        body,
        sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
      });
      send(response.statusCode, response.headers, response.body);
    } catch (err) {
      if (err instanceof TooLarge) {
        send(
          413,
          { "content-type": "application/json", connection: "close" },
          JSON.stringify({
            error: {
              code: "BODY_TOO_LARGE",
              message: `Requests are limited to ${MAX_REQUEST_BYTES} bytes`,
            },
          }),
        );
        return;
      }
      console.error(err);
      send(
        500,
        { "content-type": "application/json" },
        JSON.stringify({
          error: { code: "INTERNAL_ERROR", message: "Internal Server Error" },
        }),
      );
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
