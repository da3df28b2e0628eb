import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './processes.js';

/**
 * A loopback TCP proxy in front of a server, whose behaviour a test switches at will:
 * `refuse` (nothing listens: ECONNREFUSED), `forward` (a plain pipe), `blackhole` (accepts and
 * never answers), and `cutOn(text)`: forwards until the client sends bytes containing `text`,
 * then drops both sides, so a statement is sent and never answered.
 */
export interface TcpProxy {
  port: number;
  refuse(): Promise<void>;
  forward(): Promise<void>;
  blackhole(): Promise<void>;
  cutOn(text: string): Promise<void>;
  /**
   * Stops reading what the server sends on every open connection (a client that stops reading
   * its socket: the server's writes pile up in the kernel, then in the server); `resume` reads again.
   */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

type Mode = { kind: 'forward' } | { kind: 'blackhole' } | { kind: 'cut'; text: string };

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  let server: Server | null = null;
  let mode: Mode = { kind: 'forward' };
  const open = new Set<Socket>();
  const pipes = new Map<Socket, Socket>();
  let paused = false;

  const onClient = (client: Socket) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (mode.kind === 'blackhole') return;
    const upstream = connect(target.port, target.host);
    open.add(upstream);
    upstream.on('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const cut = mode.kind === 'cut' ? mode.text : null;
    client.on('data', (chunk: Buffer) => {
      if (cut !== null && chunk.includes(cut)) {
        client.destroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    pipes.set(upstream, client);
    upstream.on('close', () => pipes.delete(upstream));
    if (paused) upstream.pause();
    else upstream.pipe(client);
  };

  const listen = async () => {
    if (server) return;
    const s = createServer(onClient);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = null;
    for (const socket of open) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  return {
    port,
    refuse: stop,
    forward: async () => {
      mode = { kind: 'forward' };
      await listen();
    },
    blackhole: async () => {
      mode = { kind: 'blackhole' };
      await listen();
    },
    cutOn: async (text) => {
      mode = { kind: 'cut', text };
      await listen();
    },
    pause: () => {
      paused = true;
      for (const upstream of pipes.keys()) {
        upstream.unpipe();
        upstream.pause();
      }
    },
    resume: () => {
      paused = false;
      for (const [upstream, client] of pipes) upstream.pipe(client);
    },
    close: stop,
  };
}
