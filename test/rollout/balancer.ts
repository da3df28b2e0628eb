import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A round-robin TCP balancer in front of the hub pods, standing for a Kubernetes Service
 * (or an ingress without affinity): each new connection goes to the next backend in rotation,
 * and taking a backend out of rotation (a terminating pod's endpoint removed) leaves its
 * open connections alone. WebSocket-only clients need no stickiness, so TCP is enough.
 */
export class Balancer {
  private readonly server: Server;
  private rotation: number[] = [];
  private next = 0;
  /** Connections accepted per backend port, for the report (how clients spread). */
  readonly accepted = new Map<number, number>();
  private readonly open = new Set<Socket>();
  private readonly live = new Map<number, Set<Socket>>();

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<Balancer> {
    const server = createServer();
    const balancer = new Balancer(server);
    server.on('connection', (client) => balancer.route(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return balancer;
  }

  get url(): string {
    const { port } = this.server.address() as { port: number };
    return `http://127.0.0.1:${port}`;
  }

  add(port: number): void {
    if (!this.rotation.includes(port)) this.rotation.push(port);
  }

  remove(port: number): void {
    this.rotation = this.rotation.filter((p) => p !== port);
  }

  /** Client connections now open to a backend (each client holds one WebSocket). */
  openTo(port: number): number {
    return this.live.get(port)?.size ?? 0;
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(client: Socket): void {
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    if (this.rotation.length === 0) return void client.destroy();
    const port = this.rotation[this.next++ % this.rotation.length]!;
    this.accepted.set(port, (this.accepted.get(port) ?? 0) + 1);
    const live = this.live.get(port) ?? new Set<Socket>();
    this.live.set(port, live.add(client));
    client.once('close', () => live.delete(client));
    const upstream = createConnection({ port, host: '127.0.0.1' });
    this.open.add(upstream);
    upstream.once('close', () => this.open.delete(upstream));
    // A refused or reset backend ends the client's connection too: the client reconnects.
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
