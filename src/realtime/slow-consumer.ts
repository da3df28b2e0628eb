import type { Counter } from 'prom-client';
import type { Socket } from 'socket.io';
import { INBOX_NAMESPACE } from './rooms.js';

/**
 * Slow consumers: a socket whose client does not read fast enough never makes the hub buffer
 * without bound. Every packet to a connection passes through its Socket.IO `Client.writeToEngine`
 * (a direct `socket.emit`, and a broadcast, local or from the Redis adapter, alike), so the guard
 * sits there: one comparison per packet per connection while the connection keeps up, no
 * allocation. What it compares is the data the hub itself holds unsent for the connection:
 * engine.io's write buffer (counted on the way in, uncounted on `flush`) plus the WebSocket's
 * `bufferedAmount` (ws's own queue and the TCP socket's userland buffer; the kernel's buffers are
 * not the hub's memory). Past `SLOW_CONSUMER_BYTES` the connection is slow until it is back under
 * a quarter of that:
 *
 * - `/inbox`: `typing` and `presence` are dropped; `job:status`, `job:output`, `read` and
 *   `delivered` are coalesced (the latest per job, or per conversation and user; a kept
 *   `job:output` has a gap before it, and the client re-watches with `output_from`); `message`
 *   is held back, not queued, and only its conversation id is remembered. When it has drained,
 *   the coalesced events are written, then one `resync {conversation_ids}`; the client's `sync`
 *   reads the rest from Postgres. Acks, `ready` and every other event pass.
 * - `/chat/<id>` (no `sync`): the connection is closed at the first packet it cannot take.
 *
 * Socket.IO private fields used here (checked against socket.io 4.8, engine.io 6.6, ws 8):
 * `socket.client`, `Client.writeToEngine`, `Client.conn`, `Client.nsps`, engine.io's `flush`
 * event and `transport.socket` (the ws WebSocket), and `Socket.notifyOutgoingListeners`, which
 * both paths call with the packet object right before writing it (it tells the guard which event
 * an encoded packet is, without parsing it). test/realtime/slow-consumer.test.ts breaks if one
 * of them changes.
 */

/** What each event becomes on a slow /inbox connection: dropped, held (messages) or coalesced by key. */
type Policy = 'drop' | 'hold' | ((payload: Record<string, unknown>) => string);

/**
 * The events a slow /inbox connection does not get as they come. A `job:output` kept to the
 * latest per job loses the chunks before it: the client sees the offset gap and re-watches with
 * `output_from`, the same way it heals any gap. Everything not named passes.
 */
export const SLOW_CONSUMER_POLICY: Readonly<Record<string, Policy>> = {
  typing: 'drop',
  presence: 'drop',
  message: 'hold',
  'job:status': (p) => String(p.job_id),
  'job:output': (p) => String(p.job_id),
  read: (p) => `${String(p.conversation_id)}:${String(p.user_id)}`,
  delivered: (p) => `${String(p.conversation_id)}:${String(p.user_id)}`,
};

export type SlowConsumerAction = 'slow' | 'dropped' | 'held' | 'coalesced' | 'resync' | 'disconnected';

export interface SlowConsumerOptions {
  /** SLOW_CONSUMER_BYTES. */
  maxBytes: number;
  /** Counts what the guard did (labels: action); optional so tests can build it bare. */
  counter?: Counter<'action'>;
  /** How often a slow connection is checked for having drained. */
  checkMs?: number;
}

interface EnginePacket {
  type: string;
  data?: unknown;
  options?: { wsPreEncodedFrame?: unknown };
}
interface WsLike {
  bufferedAmount?: number;
  terminate?: () => void;
}
interface EngineConn {
  readyState: string;
  transport: { socket?: WsLike };
  on(event: 'flush', fn: (packets: EnginePacket[]) => void): void;
  on(event: 'close', fn: () => void): void;
  close(discard?: boolean): void;
}
type WriteOpts = { wsPreEncodedFrame?: unknown } | undefined;
interface ClientInternals {
  conn: EngineConn;
  nsps: Map<string, Socket>;
  writeToEngine(encoded: unknown, opts: WriteOpts): void;
}
interface OutgoingPacket {
  type: number;
  nsp?: string;
  data?: unknown[];
}
interface SocketInternals {
  client: ClientInternals;
  notifyOutgoingListeners(packet: OutgoingPacket): void;
}

/** Characters of one encoded packet (strings; a Buffer counts its bytes); twice when its ws frame is pre-encoded too. */
function sizeOf(encoded: unknown, opts: WriteOpts): number {
  let n = 0;
  if (Array.isArray(encoded)) {
    for (let i = 0; i < encoded.length; i++) n += (encoded[i] as { length: number }).length;
  } else {
    n = (encoded as { length: number }).length ?? 0;
  }
  return opts !== undefined && opts.wsPreEncodedFrame !== undefined ? n * 2 : n;
}

/** One per engine.io connection (a Socket.IO Client), whatever namespaces it carries. */
class ConnectionGuard {
  /** Bytes written into engine.io's write buffer and not flushed to the transport yet. */
  private queued = 0;
  /** The packet object `notifyOutgoingListeners` saw; consumed by the write that follows it. */
  last: OutgoingPacket | null = null;
  private slow = false;
  private held: Set<number> | null = null;
  private coalesced: Map<string, { encoded: unknown; opts: WriteOpts }> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly write: ClientInternals['writeToEngine'];

  constructor(
    private readonly client: ClientInternals,
    private readonly options: Required<Pick<SlowConsumerOptions, 'maxBytes' | 'checkMs'>> & { count: (a: SlowConsumerAction, n?: number) => void },
  ) {
    this.write = client.writeToEngine;
    // The hot path: one comparison while the connection keeps up, nothing allocated.
    client.writeToEngine = (encoded, opts) => {
      const packet = this.last;
      this.last = null;
      if ((this.slow || this.unsent() > this.options.maxBytes) && !this.admit(packet, encoded, opts)) return;
      this.queued += sizeOf(encoded, opts);
      this.write.call(client, encoded, opts);
    };
    client.conn.on('flush', (packets) => {
      for (let i = 0; i < packets.length; i++) {
        const p = packets[i]!;
        if (p.type === 'message' && p.data !== undefined) this.queued -= sizeOf(p.data, p.options);
      }
      if (this.queued < 0) this.queued = 0;
    });
    client.conn.on('close', () => this.stop());
  }

  /** What the hub holds unsent for this connection now. */
  unsent(): number {
    const ws = this.client.conn.transport.socket;
    const buffered = ws !== undefined && typeof ws.bufferedAmount === 'number' ? ws.bufferedAmount : 0;
    return this.queued + buffered;
  }

  /** The slow path: whether a packet is written now. */
  private admit(packet: OutgoingPacket | null, encoded: unknown, opts: WriteOpts): boolean {
    if (!this.slow) this.start();
    // Acks, connects, disconnects: not events (type 2), always written.
    if (packet === null || packet.type !== 2 || !Array.isArray(packet.data)) return true;
    if (packet.nsp !== INBOX_NAMESPACE) {
      this.closeLegacy();
      return false;
    }
    const policy = SLOW_CONSUMER_POLICY[String(packet.data[0])];
    if (policy === undefined) return true;
    const payload = (packet.data[1] ?? {}) as Record<string, unknown>;
    if (policy === 'drop') {
      this.options.count('dropped');
    } else if (policy === 'hold') {
      const id = Number(payload.conversation_id);
      if (Number.isInteger(id)) this.held!.add(id);
      this.options.count('held');
    } else {
      const key = `${String(packet.data[0])}\n${policy(payload)}`;
      // Re-inserted, so that the map keeps the order of the latest events.
      this.coalesced!.delete(key);
      this.coalesced!.set(key, { encoded, opts });
      this.options.count('coalesced');
    }
    return false;
  }

  private start(): void {
    this.slow = true;
    this.held = new Set();
    this.coalesced = new Map();
    this.options.count('slow');
    this.timer = setInterval(() => this.check(), this.options.checkMs);
    this.timer.unref();
  }

  private check(): void {
    if (this.client.conn.readyState !== 'open') return this.stop();
    if (this.unsent() > this.options.maxBytes / 4) return;
    const { held, coalesced } = this;
    this.stop();
    for (const { encoded, opts } of coalesced!.values()) {
      this.queued += sizeOf(encoded, opts);
      this.write.call(this.client, encoded, opts);
    }
    const inbox = this.client.nsps.get(INBOX_NAMESPACE);
    if (held!.size > 0 && inbox?.connected) {
      this.options.count('resync');
      inbox.emit('resync', { conversation_ids: [...held!].sort((a, b) => a - b) });
    }
  }

  private stop(): void {
    this.slow = false;
    this.held = null;
    this.coalesced = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * A legacy socket has no `sync` to heal with: its connection is closed at once, buffers and
   * all (engine.io's close would wait for the buffer to drain first, which a stalled reader never
   * lets happen). The client reconnects and reloads, as after a restart. A connection that also
   * carries /inbox keeps it: only its legacy sockets are dropped.
   */
  private closeLegacy(): void {
    if (this.client.conn.readyState !== 'open') return;
    this.options.count('disconnected');
    if (this.client.nsps.has(INBOX_NAMESPACE)) {
      for (const [name, socket] of this.client.nsps) if (name !== INBOX_NAMESPACE) socket.disconnect();
      return;
    }
    const ws = this.client.conn.transport.socket;
    this.client.conn.close(true);
    ws?.terminate?.();
  }
}

const guards = new WeakMap<ClientInternals, ConnectionGuard>();

/**
 * Returns the `connection` listener that puts a socket's connection under the guard (once per
 * connection, however many namespaces it carries). Add it to /inbox and to `/chat/<id>`.
 */
export function slowConsumerGuard(options: SlowConsumerOptions): (socket: Socket<any, any, any, any>) => void {
  const counter = options.counter;
  const children = new Map<SlowConsumerAction, { inc(n?: number): void }>();
  const count = (action: SlowConsumerAction, n = 1) => {
    if (!counter) return;
    let child = children.get(action);
    if (!child) children.set(action, (child = counter.labels(action)));
    child.inc(n);
  };
  const settings = { maxBytes: options.maxBytes, checkMs: options.checkMs ?? 50, count };
  return (socket) => {
    const inner = socket as unknown as SocketInternals;
    const client = inner.client;
    let guard = guards.get(client);
    if (!guard) guards.set(client, (guard = new ConnectionGuard(client, settings)));
    const notify = inner.notifyOutgoingListeners;
    const g = guard;
    inner.notifyOutgoingListeners = function notifyGuard(this: SocketInternals, packet) {
      g.last = packet;
      notify.call(this, packet);
    };
  };
}
