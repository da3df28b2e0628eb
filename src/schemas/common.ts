import { z } from 'zod';

/**
 * The pieces of the wire contract every schema shares, written once: ids, the Postgres
 * `integer` bound, and the closed lists of message types and job states. The database schema
 * (src/db/schema/) takes its enums from here too, so a value the API accepts is one a column holds.
 */

/** The largest value of Postgres's `integer` (int4): every id and seq is one. */
export const INT4_MAX = 2_147_483_647;

/** A row id as it travels in a JSON body or a socket payload: a positive int4. */
export const idNumber = () => z.number().int().min(1).max(INT4_MAX);

/** A per-conversation message seq, or a cursor (0: nothing seen yet). */
export const seqNumber = () => z.number().int().min(0).max(INT4_MAX);

export const MESSAGE_TYPES = ['TEXT', 'IMAGE', 'FILE'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
export const messageType = z.enum(MESSAGE_TYPES);

export const JOB_STATES = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
export const jobState = z.enum(JOB_STATES);
