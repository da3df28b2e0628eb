/** Who talks to whom: the same graph is seeded into the hub and handed to the ceiling. */
export interface Topology {
  users: number;
  /** Conversation index -> its two user indices. */
  pairs: Array<readonly [number, number]>;
  /** User index -> conversation indices. */
  conversationsOf: number[][];
}

/**
 * A circulant graph: user i talks to i±1, i±2, ... and, for an odd degree, to i+n/2, so
 * every user is in exactly `perUser` conversations and load spreads evenly.
 */
export function topology(users: number, perUser: number): Topology {
  const pairs: Array<readonly [number, number]> = [];
  for (let offset = 1; offset <= Math.floor(perUser / 2); offset++) {
    for (let i = 0; i < users; i++) pairs.push([i, (i + offset) % users]);
  }
  if (perUser % 2 === 1) for (let i = 0; i < users / 2; i++) pairs.push([i, i + users / 2]);
  const conversationsOf: number[][] = Array.from({ length: users }, () => []);
  pairs.forEach(([a, b], c) => {
    conversationsOf[a]!.push(c);
    conversationsOf[b]!.push(c);
  });
  return { users, pairs, conversationsOf };
}

export interface SeededUser {
  id: number;
  cookie: string;
}

/** Users and conversations as they exist on one target, indexed like the topology. */
export interface Seeded {
  users: SeededUser[];
  conversationIds: number[];
}

/** The ceiling has no storage: ids are the indices plus one. */
export const ceilingSeed = (topo: Topology): Seeded => ({
  users: Array.from({ length: topo.users }, (_, i) => ({ id: i + 1, cookie: '' })),
  conversationIds: topo.pairs.map((_, c) => c + 1),
});

async function post(url: string, body: unknown, cookie?: string): Promise<Response> {
  // A few retries cover a rate limiter on the auth routes; every other failure stops the run.
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, {
      method: 'POST',
      // With the session cookie the hub wants proof of a same-origin request (a browser header).
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie, 'sec-fetch-site': 'same-origin' } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status !== 429 || attempt >= 20) return res;
    await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
  }
}

async function inParallel<T>(count: number, lanes: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane));
  return out;
}

/** Registers every user (the hub sets the session cookie) and opens every conversation, over HTTP. */
export async function seedHub(baseUrl: string, topo: Topology, runId: string): Promise<Seeded> {
  // Password hashing is deliberately slow (scrypt on the libuv pool); more lanes only queue.
  const users = await inParallel(topo.users, 8, async (i) => {
    const res = await post(`${baseUrl}/api/auth/register`, {
      email: `bench-${runId}-${i}@example.test`,
      password: 'bench password 123',
      name: `Bench User ${i}`,
    });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
    const { user } = (await res.json()) as { user: { id: number } };
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sessionid='))?.split(';')[0];
    if (!cookie) throw new Error('register set no sessionid cookie');
    return { id: user.id, cookie };
  });
  const conversationIds = await inParallel(topo.pairs.length, 16, async (c) => {
    const [a, b] = topo.pairs[c]!;
    const res = await post(`${baseUrl}/api/conversations`, { client_id: users[a]!.id, worker_id: users[b]!.id }, users[a]!.cookie);
    if (res.status !== 201 && res.status !== 200) throw new Error(`conversation failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { conversation: { id: number } }).conversation.id;
  });
  return { users, conversationIds };
}
