/**
 * What the bench's coordinator and its client processes (agents) say to each other over
 * Node IPC ('advanced' serialization, so latency samples travel as Float64Array).
 * The same agent code drives the hub and the ceiling; only the connect spec differs.
 */
import type { Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/realtime/protocol.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** One socket an agent opens on a target. */
export interface SocketSpec {
  userId: number;
  /** `http://127.0.0.1:<port>` of the pod this socket connects to. */
  url: string;
  /** The hub authenticates with the session cookie ... */
  cookie?: string;
  /** ... the ceiling takes who it is and its rooms as handshake auth. */
  auth?: { user_id: number; conversation_ids: number[] };
  /** Conversations this socket sends into, each with how many other-member sockets should receive. */
  send: Array<{ conversationId: number; peers: number }>;
}

export interface ConnectRequest {
  type: 'connect';
  target: string;
  /**
   * Message ids modulo this split the seq streams: the hub's seq is one stream per
   * conversation (1), the multi-pod ceiling counts seqs per pod (ids are pod-striped).
   */
  seqStride: number;
  sockets: SocketSpec[];
  concurrency: number;
  timeoutMs: number;
}

export interface StepRequest {
  type: 'step';
  target: string;
  stepId: number;
  /** This agent's share of the aggregate rate, msg/s. */
  rate: number;
  durationMs: number;
  bodySize: number;
  ackTimeoutMs: number;
  /**
   * Receipts: every socket sends `delivered` for the other members' messages it received, the
   * highest seq per conversation, gathered for this many ms (as the typed client does); 0: none.
   */
  deliveredEveryMs?: number;
}

export interface JobWatchRequest {
  type: 'watch-jobs';
  target: string;
  /** Watchers per job: socket index (in connect order) -> job ids. */
  watches: Array<{ socket: number; jobIds: string[] }>;
  timeoutMs: number;
}

export type AgentRequest =
  | ConnectRequest
  | StepRequest
  | { type: 'counters'; stepId: number }
  | { type: 'collect'; stepId: number }
  | { type: 'collect-jobs'; target: string }
  | { type: 'job-progress'; target: string }
  | { type: 'disconnect'; target: string }
  | { type: 'status'; target: string }
  | { type: 'ping' }
  | JobWatchRequest;

export interface ConnectResult {
  connected: number;
  failed: number;
  errors: Record<string, number>;
  durationMs: number;
  /** Per connected socket: ms from open to `ready`. */
  connectMs: Float64Array;
}

export interface SocketStatus {
  open: number;
  dropped: number;
}

export interface SendResult {
  sent: number;
  /** How late the agent emitted relative to the schedule (it shares the CPU with the hub). */
  lagP99Ms: number;
  lagMaxMs: number;
  sendMs: number;
}

export interface StepCounters {
  sent: number;
  acksOk: number;
  /** Deliveries other members' sockets should see, summed over ok acks. */
  expected: number;
  ackErrors: Record<string, number>;
  pendingAcks: number;
  received: number;
  duplicates: number;
  gaps: number;
  reordered: number;
  /** Unexpected disconnects of this agent's sockets since they connected. */
  dropped: number;
  /** `delivered` sent (receipts steps), acked ok, and `delivered` events heard by this agent's sockets. */
  deliveredSent: number;
  deliveredOk: number;
  deliveredHeard: number;
}

export interface StepSamples extends StepCounters {
  latencyMs: Float64Array;
  ackLatencyMs: Float64Array;
}

export interface JobSamples {
  watched: number;
  watchErrors: Record<string, number>;
  updates: number;
  /** Receipt time minus the job's `updated_at`, per progress `job:status`. */
  latencyMs: Float64Array;
  /** A watcher saw a job `seq` that did not grow. */
  nonMonotonic: number;
  completed: number;
}

export type AgentReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
export type AgentEnvelope = { id: number; request: AgentRequest };

/** Wall-clock ms with sub-ms resolution, comparable between processes on one machine. */
export const clock = () => performance.timeOrigin + performance.now();
