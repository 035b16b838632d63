import type { Server } from "node:http";
import sesModule from "aws-ses-v2-local";

// The package is CommonJS with `exports.default`: Node's ESM loader gives the exports object,
// vitest's interop the function itself.
type StartServer = typeof sesModule.default;
const startServer: StartServer =
  "default" in sesModule ? sesModule.default : (sesModule as unknown as StartServer);

export interface RunningSesEmulator {
  /** The SES endpoint (SES_ENDPOINT) and the web inbox. */
  url: string;
  close(): Promise<void>;
}

export interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { text?: string; html?: string };
  /** Epoch seconds. */
  at: number;
}

/**
 * The SES emulator from the aws-ses-v2-local package: it answers the SES v1 and v2 APIs, keeps the
 * emails in memory, shows them at its URL and serves them as JSON at GET /store.
 */
export async function startSesEmulator(options: {
  host?: string;
  port: number;
}): Promise<RunningSesEmulator> {
  const host = options.host ?? "127.0.0.1";
  const server: Server = await startServer({ host, port: options.port });
  return {
    url: `http://${host}:${options.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** The emails in the emulator's store, optionally only those sent to one address. */
export async function storedEmails(url: string, to?: string): Promise<StoredEmail[]> {
  const response = await fetch(`${url}/store`);
  if (!response.ok) throw new Error(`SES emulator store: HTTP ${response.status}`);
  const { emails } = (await response.json()) as { emails: StoredEmail[] };
  return to === undefined ? emails : emails.filter((e) => e.destination.to.includes(to));
}
