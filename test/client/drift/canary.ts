/**
 * Proof that check.ts can fail: a hub `user` whose `id` became a string, and an event whose
 * embedded conversation gained a key the client lacks, must both be reported.
 */
import type * as client from '@inbox-hub/client';
import type { Check, DeepDrift, Drift, Extra } from './check.js';

type DriftedUser = { id: string; email: string; name: string; avatar_url: string | null };
export type Canary = Check<Drift<client.User, DriftedUser> | Extra<client.User, DriftedUser>>;
type DriftedEvent = { conversation: client.Conversation & { archived: boolean } };
export type EventCanary = Check<DeepDrift<{ conversation: client.Conversation }, DriftedEvent>>;
