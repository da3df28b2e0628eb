import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresencePayload } from '../../src/realtime/protocol.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { pollUntil, spawnHub, type ChildService } from '../helpers/processes.js';
import { collect, connect, connectInbox, waitFor, type ClientSocket } from '../helpers/sockets.js';

/**
 * Presence over three real hub processes sharing Postgres and Redis. The grace period and the
 * socket leases are set short here through the environment (PRESENCE_GRACE_MS=1500,
 * SOCKET_LEASE_MS=3000, instead of 10 s and 45 s), so a dead pod's users go offline in seconds.
 */
const GRACE_MS = 1500;
const LEASE_MS = 3000;
/** The sweep runs every grace/10 (150 ms here); what may pass after a due time before it is announced. */
const SWEEP_SLACK_MS = 1500;
let podA: ChildService;
let podB: ChildService;
let podC: ChildService;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  const env = { PRESENCE_GRACE_MS: String(GRACE_MS), SOCKET_LEASE_MS: String(LEASE_MS), MAX_SOCKETS_PER_USER: '50' };
  [podA, podB, podC] = await Promise.all([spawnHub(env), spawnHub(env), spawnHub(env)]);
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all([podA?.stop(), podB?.stop(), podC?.stop()]);
});

const keep = <T extends ClientSocket>(s: T) => (sockets.push(s), s);
async function inboxOn(pod: ChildService, u: TestUser) {
  const c = await connectInbox(pod.url, u.cookie);
  keep(c.socket);
  return c;
}
const closed = (s: ClientSocket) => {
  s.close();
  return Date.now();
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const online = (u: TestUser): PresencePayload => ({ user_id: u.user.id, online: true, last_seen_at: null });

/** Ann with two peers (Bob, Carol) and a stranger (Eve) sharing no conversation with her. */
async function group() {
  const [ann, bob, carol, eve] = await Promise.all([newUser(podA.url), newUser(podA.url), newUser(podA.url), newUser(podA.url)]);
  const [ab] = await Promise.all([newConversation(podA.url, ann, bob), newConversation(podA.url, carol, ann), newConversation(podA.url, bob, eve)]);
  return { ann, bob, carol, eve, ab };
}

describe('presence across pods', () => {
  it('a first connect on one pod reaches the peers on the others once; nobody else, not the user; ready lists the online peers', async () => {
    const { ann, bob, carol, eve } = await group();
    const bobB = await inboxOn(podB, bob);
    const carolC = await inboxOn(podC, carol);
    const eveB = await inboxOn(podB, eve);
    expect(bobB.ready.online_user_ids).toEqual([]);
    expect(carolC.ready.online_user_ids).toEqual([]);
    expect(eveB.ready.online_user_ids).toEqual([bob.user.id]);
    const seen = { bob: collect(bobB.socket, 'presence'), carol: collect(carolC.socket, 'presence'), eve: collect(eveB.socket, 'presence') };

    // Two first sockets racing on two pods: one change, announced once.
    const [annA, annB] = await Promise.all([inboxOn(podA, ann), inboxOn(podB, ann)]);
    const own = [collect(annA.socket, 'presence'), collect(annB.socket, 'presence')];
    await pollUntil(async () => seen.bob.length > 0 && seen.carol.length > 0, 'the peers to see Ann online', 5000);
    for (const r of [annA.ready, annB.ready]) expect(r.online_user_ids).toEqual([bob.user.id, carol.user.id].sort((a, b) => a - b));
    // A third socket while online changes nothing.
    await inboxOn(podC, ann);
    await sleep(1000);
    expect(seen.bob).toEqual([online(ann)]);
    expect(seen.carol).toEqual([online(ann)]);
    expect(seen.eve).toEqual([]);
    expect(own).toEqual([[], []]);
  });

  it('a reload (disconnect, reconnect on another pod) inside the grace period sends nothing', async () => {
    const { ann, bob } = await group();
    const bobB = await inboxOn(podB, bob);
    const came = waitFor(bobB.socket, 'presence');
    const annA = await inboxOn(podA, ann);
    await came;
    const seen = collect(bobB.socket, 'presence');
    closed(annA.socket);
    await sleep(300);
    const again = await inboxOn(podC, ann);
    expect(again.ready.online_user_ids).toEqual([bob.user.id]);
    // Well past the grace of the first socket's departure, and past a lease: still nothing.
    await sleep(GRACE_MS + LEASE_MS);
    expect(seen).toEqual([]);
  });

  it('the last socket gone for the grace period: offline once, with last_seen_at when it left; a peer inside the grace counts as online', async () => {
    const { ann, bob, carol } = await group();
    const bobB = await inboxOn(podB, bob);
    const came = waitFor(bobB.socket, 'presence');
    const annA = await inboxOn(podA, ann);
    const annChat = keep(await connect(podC.url, ann.cookie, { namespace: `/chat/${(await newConversation(podA.url, ann, carol)).id}` }));
    await came;
    const seen = collect(bobB.socket, 'presence');
    closed(annA.socket);
    await sleep(200);
    const left = closed(annChat);
    await sleep(GRACE_MS / 3);
    // Inside the grace period Ann still counts as online.
    const carolA = await inboxOn(podA, carol);
    expect(carolA.ready.online_user_ids).toEqual([ann.user.id]);
    const offline = await waitFor(bobB.socket, 'presence', () => true, GRACE_MS + SWEEP_SLACK_MS + 5000);
    const after = Date.now() - left;
    expect(offline).toEqual({ user_id: ann.user.id, online: false, last_seen_at: expect.any(String) });
    const lastSeen = Date.parse(offline.last_seen_at!);
    expect(Math.abs(lastSeen - left)).toBeLessThan(250);
    expect(after).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(after).toBeLessThan(GRACE_MS + SWEEP_SLACK_MS);
    await sleep(1000);
    expect(seen).toEqual([offline]);
    // And back: online again, once.
    const back = waitFor(bobB.socket, 'presence');
    await inboxOn(podA, ann);
    expect(await back).toEqual(online(ann));
  });

  it('a legacy /chat socket alone makes its user online', async () => {
    const { ann, bob, ab } = await group();
    const bobA = await inboxOn(podA, bob);
    const got = waitFor(bobA.socket, 'presence');
    keep(await connect(podB.url, ann.cookie, { namespace: `/chat/${ab.id}` }));
    expect(await got).toEqual(online(ann));
  });

  it('a pod killed with SIGKILL takes its users offline once its leases run out, announced by one surviving pod', async () => {
    const { ann, bob } = await group();
    // Bob on both surviving pods: two sweepers race for the change, each socket must get it once.
    const bobs = [await inboxOn(podA, bob), await inboxOn(podB, bob)];
    const came = Promise.all(bobs.map((b) => waitFor(b.socket, 'presence')));
    await inboxOn(podC, ann);
    await came;
    const seen = bobs.map((b) => collect(b.socket, 'presence'));
    await sleep(LEASE_MS / 2);
    const killedAt = Date.now();
    await podC.stop('SIGKILL');
    await pollUntil(async () => seen.every((s) => s.length > 0), 'Ann offline after her pod died', LEASE_MS + SWEEP_SLACK_MS + 10_000, 50);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThan(LEASE_MS + SWEEP_SLACK_MS);
    await sleep(1000);
    const [first] = seen[0]!;
    expect(first).toEqual({ user_id: ann.user.id, online: false, last_seen_at: expect.any(String) });
    // Its last renewal, at most a third of a lease before the kill.
    const lastSeen = Date.parse(first!.last_seen_at!);
    expect(lastSeen).toBeLessThanOrEqual(killedAt + 50);
    expect(lastSeen).toBeGreaterThan(killedAt - LEASE_MS / 3 - 250);
    expect(seen).toEqual([[first], [first]]);
  });
});
