import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './processes.js';

/**
 * A loopback proxy in front of Postgres that reads the frontend side of the wire protocol and
 * records every statement the clients execute (simple `Query`, or `Execute` of the statement
 * last bound), in order: an exact, external count of the queries a piece of code runs, whatever
 * driver or pool it uses.
 */
export interface PgQueryLog {
  /** `postgres://...` through the proxy, to the same database as `url`. */
  url: string;
  /** Every statement executed so far, as its SQL text. */
  readonly statements: readonly string[];
  close(): Promise<void>;
}

export async function startPgQueryLog(url: string): Promise<PgQueryLog> {
  const target = new URL(url);
  const port = await freePort();
  const statements: string[] = [];
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {});
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    const reader = new FrontendReader((sql) => statements.push(sql));
    client.on('data', (chunk: Buffer) => {
      reader.feed(chunk);
      upstream.write(chunk);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(port);
  return {
    url: proxied.toString(),
    statements,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Frontend messages: the first (startup) untyped, then a type byte, an int32 length, the body. */
class FrontendReader {
  private buffer = Buffer.alloc(0);
  private started = false;
  private readonly prepared = new Map<string, string>();
  private bound = '';

  constructor(private readonly onStatement: (sql: string) => void) {}

  feed(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const offset = this.started ? 1 : 0;
      if (this.buffer.length < offset + 4) return;
      const length = this.buffer.readInt32BE(offset);
      if (this.buffer.length < offset + length) return;
      if (this.started) this.message(String.fromCharCode(this.buffer[0]!), this.buffer.subarray(5, 1 + length));
      this.started = true;
      this.buffer = this.buffer.subarray(offset + length);
    }
  }

  private message(type: string, body: Buffer): void {
    const strings = () => body.toString('utf8').split('\0');
    if (type === 'Q') this.onStatement(strings()[0]!);
    else if (type === 'P') {
      const [name, sql] = strings();
      this.prepared.set(name!, sql!);
    } else if (type === 'B') this.bound = this.prepared.get(strings()[1]!) ?? '';
    else if (type === 'E') this.onStatement(this.bound);
  }
}
