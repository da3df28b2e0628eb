import { InboxClientError } from './options.js';
import type { Conversation, ErrorCode, Job, Message, User } from './types.js';

export interface HistoryPage {
  messages: Message[];
  has_more: boolean;
}

export interface Credentials {
  email: string;
  password: string;
}

/**
 * The few HTTP routes the client itself needs, sent with the same credentials as the
 * socket: the browser's cookie, or `extraHeaders` in Node.
 */
export class HubHttp {
  constructor(
    private readonly base: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  /** The caller's conversations, most recent activity first. */
  async conversations(): Promise<Conversation[]> {
    return (await this.call<{ conversations: Conversation[] }>('GET', '/api/conversations')).conversations;
  }

  /** The latest `limit` messages below `beforeSeq` (or the latest of all), in ascending `seq`. */
  history(conversationId: number, page: { beforeSeq?: number; limit?: number } = {}): Promise<HistoryPage> {
    const query = new URLSearchParams({ limit: String(page.limit ?? 50) });
    if (page.beforeSeq !== undefined) query.set('before_seq', String(page.beforeSeq));
    return this.call('GET', `/api/conversations/${conversationId}/messages?${query}`);
  }

  /** Enqueues a job owned by the caller. */
  async startJob(name: string, data?: unknown): Promise<Job> {
    return (await this.call<{ job: Job }>('POST', '/api/jobs', { name, data })).job;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.base + path, {
      method,
      credentials: 'include',
      headers: { ...this.headers, ...this.ownRequest(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return readReply<T>(res);
  }

  /**
   * The hub refuses a state-changing request that carries the session cookie but neither an
   * Origin nor `Sec-Fetch-Site` (a cross-site form post looks like that). Only a non-browser
   * client sets the cookie itself (browsers forbid it, and send those headers on their own),
   * and it acts for its own user, so it says so.
   */
  private ownRequest(): Record<string, string> {
    return Object.keys(this.headers).some((h) => h.toLowerCase() === 'cookie') ? { 'sec-fetch-site': 'same-origin' } : {};
  }
}

/**
 * Signs in and returns the user; in Node also the `cookie` to pass as
 * `extraHeaders: {cookie}` (browsers keep the HttpOnly cookie themselves, so it is null there).
 */
export async function login(base: string, credentials: Credentials): Promise<{ user: User; cookie: string | null }> {
  const res = await fetch(`${base.replace(/\/+$/, '')}/api/auth/login`, {
    method: 'POST',
    credentials: 'include',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(credentials),
  });
  const { user } = await readReply<{ user: User }>(res);
  const cookie = res.headers.get('set-cookie')?.match(/sessionid=[^;]*/)?.[0] ?? null;
  return { user, cookie };
}

async function readReply<T>(res: Response): Promise<T> {
  const data: unknown = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  if (res.ok) return data as T;
  const error = (data as { error?: { code: ErrorCode; message: string } } | undefined)?.error;
  throw new InboxClientError(error?.code ?? 'unavailable', error?.message ?? `HTTP ${res.status}`);
}
