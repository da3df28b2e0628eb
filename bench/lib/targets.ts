import type { SocketSpec } from '../client/protocol.js';
import type { Seeded, Topology } from './seed.js';
import type { Service } from './services.js';
import type { BenchStore } from './stack.js';

/** `baseline` is the hub at another revision (`--baseline`), run side by side for before/after. */
export type TargetName = 'ceiling' | 'hub' | 'baseline';

/** A system under test: its pods, the users and conversations it knows, its database if any. */
export interface Target {
  name: TargetName;
  pods: Service[];
  seed: Seeded;
  store: BenchStore | null;
}

export const pidsOf = (t: Target) => t.pods.map((p) => p.pid);

/** The multi-pod ceiling counts seqs per pod and stripes message ids by pod (see ceiling-server.ts). */
export const seqStrideOf = (t: Target) => (t.name === 'ceiling' ? t.pods.length : 1);

/**
 * The one place the two targets differ for a client: the hub authenticates the cookie
 * and loads the rooms itself, the ceiling is told them in the handshake.
 */
export function socketSpec(t: Target, topo: Topology, userIndex: number, pod: number, sends: boolean, peers = 1): SocketSpec {
  const user = t.seed.users[userIndex]!;
  const conversationIds = topo.conversationsOf[userIndex]!.map((c) => t.seed.conversationIds[c]!);
  return {
    userId: user.id,
    url: t.pods[pod % t.pods.length]!.url,
    ...(t.name !== 'ceiling' ? { cookie: user.cookie } : { auth: { user_id: user.id, conversation_ids: conversationIds } }),
    send: sends ? conversationIds.map((conversationId) => ({ conversationId, peers })) : [],
  };
}
