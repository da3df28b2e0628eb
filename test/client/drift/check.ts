/**
 * The client's self-contained types against the hub's own schemas and event maps, checked
 * by the TypeScript compiler from contract-drift.test.ts. Each `Check<...>` names the keys
 * whose types differ; it must be `never`. Keys the client knows and the hub does not send
 * yet are allowed (listed in NOT_YET_SENT); once the hub sends them they are compared too.
 */
import type { z } from 'zod';
import type * as client from '@inbox-hub/client';
import type { ErrorCode as HubErrorCode } from '../../../src/errors.js';
import type * as hub from '../../../src/realtime/protocol.js';
import type * as socket from '../../../src/schemas/socket.js';

type Objects = typeof import('../../../src/schemas/objects.js');

export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Fails to compile unless `T` is `never`; the error message names the keys that drifted. */
export type Check<T extends never> = T;

/** Keys of `Hub` the client lacks or types differently (compared after flattening both). */
export type Drift<Client, Hub> = {
  [K in keyof Hub]-?: K extends keyof Client ? (Equal<Flat<Client[K]>, Flat<Hub[K]>> extends true ? never : K) : K;
}[keyof Hub];
/**
 * Like Drift, but nested objects may carry keys the hub does not send yet (those are held to
 * NOT_YET_SENT by the object checks above); used for event payloads that embed objects.
 */
export type DeepDrift<Client, Hub> = {
  [K in keyof Hub]-?: K extends keyof Client ? (Covers<Flat<Client[K]>, Flat<Hub[K]>> extends true ? never : K) : K;
}[keyof Hub];
type Covers<C, H> =
  Equal<C, H> extends true
    ? true
    : C extends readonly (infer CE)[]
      ? H extends readonly (infer HE)[]
        ? Covers<Flat<CE>, Flat<HE>>
        : false
      : [C, H] extends [object, object]
        ? DeepDrift<C, H> extends never
          ? true
          : false
        : false;
/** Keys the client has that the hub does not send. */
export type Extra<Client, Hub> = Exclude<keyof Client, keyof Hub>;

/** Interfaces, zod's inferred objects and intersections as one plain shape, recursively. */
type Flat<T> = T extends (...args: never[]) => unknown ? T : T extends object ? { [K in keyof T]: Flat<T[K]> } : T;
type Out<S> = S extends z.ZodType ? z.output<S> : never;
type In<S> = S extends z.ZodType ? z.input<S> : never;
/** A schema the hub may add later under this name: compared once it exists. */
type Later<Name extends string, Client> = Objects extends { [N in Name]: infer S } ? Drift<Client, Out<S>> | Extra<Client, Out<S>> : never;

/** Fields of the contract that the client types and handles, which this hub does not send yet. */
type NOT_YET_SENT = {
  conversation: never;
  ready: never;
  'job:watch': never;
};

// Objects.
export type User = Check<Drift<client.User, Out<Objects['userSchema']>> | Extra<client.User, Out<Objects['userSchema']>>>;
export type Message = Check<Drift<client.Message, Out<Objects['messageSchema']>> | Extra<client.Message, Out<Objects['messageSchema']>>>;
export type Job = Check<Drift<client.Job, Out<Objects['jobSchema']>> | Extra<client.Job, Out<Objects['jobSchema']>>>;
export type Conversation = Check<
  Drift<client.Conversation, Out<Objects['conversationSchema']>> | Exclude<Extra<client.Conversation, Out<Objects['conversationSchema']>>, NOT_YET_SENT['conversation']>
>;
export type Peer = Check<Later<'peerSchema', client.Peer>>;
export type Notice = Check<Later<'noticeSchema', client.Notice>>;
export type ErrorCodes = Check<Equal<client.ErrorCode, HubErrorCode> extends true ? never : 'ErrorCode'>;

// Payloads the hub validates (what it accepts must be what the client sends).
export type SendPayload = Check<Drift<client.SendMessagePayload, In<typeof socket.sendMessagePayload>> | Extra<client.SendMessagePayload, In<typeof socket.sendMessagePayload>>>;
export type SyncPayload = Check<Drift<client.SyncPayload, Out<typeof socket.syncPayload>> | Extra<client.SyncPayload, Out<typeof socket.syncPayload>>>;
export type ReadPayload = Check<Drift<client.MarkerPayload, In<typeof socket.readPayload>> | Extra<client.MarkerPayload, In<typeof socket.readPayload>>>;
export type DeliveredPayload = Check<Drift<client.MarkerPayload, In<typeof socket.deliveredPayload>> | Extra<client.MarkerPayload, In<typeof socket.deliveredPayload>>>;
export type TypingPayload = Check<Drift<Parameters<client.ClientToServerEvents['typing']>[0], In<typeof socket.conversationPayload>>>;
/** The client may send `output_from` before the hub reads it (unknown keys are ignored). */
export type JobPayload = Check<Drift<client.JobWatchPayload, In<typeof socket.jobPayload>>>;

// Event maps: every event the hub has, with the same payload (and, client to server, the same ack).
type Payload<F> = F extends (payload: infer P, ...rest: never[]) => void ? P : never;
type AckOk<F> = F extends (payload: never, ack: (ack: infer A) => void) => void ? Extract<A, { ok: true }> : never;
type Missing<C, H> = Exclude<keyof H, keyof C>;

type DownDrift = {
  [E in keyof hub.ServerToClientEvents]: E extends keyof client.ServerToClientEvents
    ? DeepDrift<Payload<client.ServerToClientEvents[E]>, Payload<hub.ServerToClientEvents[E]>> extends never
      ? never
      : E
    : E;
}[keyof hub.ServerToClientEvents];
type UpDrift = {
  [E in keyof hub.ClientToServerEvents]: E extends keyof client.ClientToServerEvents
    ? DeepDrift<AckOk<client.ClientToServerEvents[E]>, AckOk<hub.ClientToServerEvents[E]>> extends never
      ? never
      : E
    : E;
}[keyof hub.ClientToServerEvents];
export type ServerToClient = Check<DownDrift | Missing<client.ServerToClientEvents, hub.ServerToClientEvents>>;
export type ClientToServer = Check<UpDrift | Missing<client.ClientToServerEvents, hub.ClientToServerEvents>>;
export type ReadyExtra = Check<
  Exclude<Extra<Payload<client.ServerToClientEvents['ready']>, Payload<hub.ServerToClientEvents['ready']>>, NOT_YET_SENT['ready']>
>;
export type JobWatchExtra = Check<
  Exclude<Extra<AckOk<client.ClientToServerEvents['job:watch']>, AckOk<hub.ClientToServerEvents['job:watch']>>, NOT_YET_SENT['job:watch'] | 'ok'>
>;
