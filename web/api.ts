import type { Conversation as ConversationDto, Job as JobDto, Notice, Peer, User as UserDto } from '@inbox-hub/client';

/** An HTTP error answered by the hub, with the contract's code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A network failure rejects with the browser's TypeError, which `humanError` reads as "can't reach". */
async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (!res.ok) {
    const error = (data as { error?: { code: string; message: string } } | undefined)?.error;
    throw new ApiError(res.status, error?.code ?? 'http_error', error?.message ?? res.statusText);
  }
  return data as T;
}

export interface Credentials {
  email: string;
  password: string;
}

/** The hub's HTTP API as the page uses it; every route is from the contract (and the lookup). */
export const api = {
  me: () => call<{ user: UserDto }>('GET', '/api/me'),
  register: (body: Credentials & { name: string }) => call<{ user: UserDto }>('POST', '/api/auth/register', body),
  login: (body: Credentials) => call<{ user: UserDto }>('POST', '/api/auth/login', body),
  logout: () => call<void>('POST', '/api/auth/logout'),
  lookupUser: (email: string) => call<{ peer: Peer }>('GET', `/api/users/lookup?email=${encodeURIComponent(email)}`),
  conversations: () => call<{ conversations: ConversationDto[] }>('GET', '/api/conversations'),
  openConversation: (clientId: number, workerId: number) =>
    call<{ conversation: ConversationDto }>('POST', '/api/conversations', { client_id: clientId, worker_id: workerId }),
  startJob: (name: string, data: unknown) => call<{ job: JobDto }>('POST', '/api/jobs', { name, data }),
  jobs: () => call<{ jobs: JobDto[] }>('GET', '/api/jobs'),
  cancelJob: (jobId: string) => call<{ job: JobDto }>('POST', `/api/jobs/${encodeURIComponent(jobId)}/cancel`),
  notices: (limit = 20) => call<{ notices: Notice[]; has_more: boolean }>('GET', `/api/notices?limit=${limit}`),
  markNoticesRead: (upToId: number) => call<void>('POST', '/api/notices/read', { up_to_id: upToId }),
};
