import { InboxClientError } from '@inbox-hub/client';
import { ApiError } from './api.js';

/** What the user was doing: the same code means different things in different places. */
export type Action = 'login' | 'register' | 'lookup' | 'open' | 'send' | 'history' | 'job' | 'cancel' | 'notices';

const BY_ACTION: Partial<Record<Action, Partial<Record<string, string>>>> = {
  login: {
    unauthorized: 'That email and password don’t match an account. Check them and try again.',
    invalid_payload: 'Enter your email and password.',
  },
  register: {
    conflict: 'An account with this email already exists. Log in instead.',
    invalid_payload: 'Check the form: a name, a valid email and a password of at least 8 characters.',
  },
  lookup: {
    not_found: 'Nobody has an account with that email yet. Check the address, or ask them to sign up first.',
    invalid_payload: 'That doesn’t look like an email address.',
  },
  open: {
    invalid_payload: 'You can’t start a conversation with yourself. Enter the other person’s email.',
    forbidden: 'You can only start conversations you are part of.',
    not_found: 'That person’s account no longer exists.',
    rate_limited: 'You’ve started a lot of conversations recently. Try again later.',
  },
  send: {
    too_large: 'This message is too long. Shorten it or split it into a few messages.',
    forbidden: 'You can’t send messages in this conversation any more.',
    not_found: 'This conversation no longer exists.',
    invalid_payload: 'This message couldn’t be sent as it is.',
    unauthorized: 'You were signed out. Log in again to send it.',
    conflict: 'This message couldn’t be sent.',
  },
  job: {
    invalid_payload: 'Those job settings aren’t valid. Check the numbers and try again.',
    rate_limited: 'You have too many jobs waiting. Let some finish first.',
  },
  cancel: { not_found: 'That job is gone already.' },
};

const GENERAL: Record<string, string> = {
  unauthorized: 'You were signed out. Reload the page to log in again.',
  forbidden: 'You’re not allowed to do that.',
  not_found: 'It isn’t there any more.',
  rate_limited: 'That was a lot in a short time. Wait a moment and try again.',
  unavailable: 'The service is having trouble right now. Try again in a moment.',
  timeout: 'The server took too long to answer. Try again.',
  connect: 'Can’t reach the server. Check your connection.',
};

/**
 * A sentence a person can act on, never the hub's own wording ("client_id and worker_id
 * must be two different users"): by what they were doing and the error's code.
 */
export function humanError(err: unknown, action: Action): string {
  // The one refusal that is about where the page was opened from, not about the user.
  if (err instanceof ApiError && err.status === 403 && err.message.startsWith('Origin not allowed')) {
    return 'This page’s address isn’t allowed to talk to the server. Open it at the address the server printed.';
  }
  const code = err instanceof ApiError || err instanceof InboxClientError ? err.code : err instanceof TypeError ? 'connect' : 'unknown';
  return messageFor(code, action);
}

/** The sentence for a hub error code (or `timeout`, `connect`) met while doing `action`. */
export function messageFor(code: string, action: Action): string {
  return BY_ACTION[action]?.[code] ?? GENERAL[code] ?? 'Something went wrong. Try again.';
}
