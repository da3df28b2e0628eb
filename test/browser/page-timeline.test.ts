import { Window } from 'happy-dom';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Message, OutgoingMessage } from '@inbox-hub/client';

/**
 * The page's message list rows (web/timeline.ts), built into a happy-dom document: date
 * separators, grouping by sender and minute, ticks, "Seen" once, the outbox after the stored.
 */
// The page is type-checked on its own (web/tsconfig.json, with the DOM library); this suite's
// program has no DOM types, so the module is loaded by a path tsc does not follow, its rows as `any`.
type Row = any;
let timeline: (input: object) => { key: string; build: () => Row }[];
const PAGE_TIMELINE = '../../web/timeline.js';
beforeAll(async () => {
  const window = new Window({ url: 'http://localhost/' });
  Object.assign(globalThis, { window, document: window.document });
  ({ timeline } = (await import(PAGE_TIMELINE)) as { timeline: typeof timeline });
});

const ANN = { id: 1, name: 'Ann Lee', avatar_url: null };
const BOB = { id: 2, name: 'Bob', avatar_url: null };
const noon = new Date();
noon.setHours(12, 0, 0, 0);
const at = (dayOffset: number, seconds: number) => new Date(noon.getTime() + dayOffset * 86_400_000 + seconds * 1000).toISOString();
const msg = (seq: number, sender: typeof ANN, created_at: string, message = `m${seq}`): Message => ({
  id: seq, conversation_id: 4, seq, sender_id: String(sender.id), sender_name: sender.name, sender_avatar: null,
  message, type: 'TEXT', created_at, message_id: seq, client_msg_id: null,
});
const out = (id: string, status: 'pending' | 'failed', created_at: string): OutgoingMessage => ({
  client_msg_id: id, conversation_id: 4, user_id: 1, message: `out ${id}`, type: 'TEXT', created_at, status,
  error: status === 'failed' ? { code: 'too_large', message: 'too large' } : null,
});

function render(input: object): Row[] {
  const rows = timeline({ me: ANN, peer: BOB, messages: [], outgoing: [], peerRead: 0, peerDelivered: 0, onRetry: () => {}, onDiscard: () => {}, ...input });
  return rows.map((r) => r.build());
}
const describeRow = (li: Row) => {
  if (li.classList.contains('day')) return `day ${li.textContent}`;
  const head = li.classList.contains('group-start') ? ' [head]' : '';
  const tick = li.querySelector('.delivery')?.getAttribute('data-status');
  const seen = li.querySelector('.seen') ? ' Seen' : '';
  return `${li.classList.contains('mine') ? 'mine' : 'theirs'} ${li.querySelector('.text')?.textContent}${head}${tick ? ` ${tick}` : ''}${seen}`;
};

describe('the message list rows', () => {
  it('separate days, group by sender and minute, tick own messages and put "Seen" under the last one read', () => {
    const rows = render({
      messages: [
        msg(1, BOB, at(-1, 0)),
        msg(2, ANN, at(0, 0)),
        msg(3, ANN, at(0, 20)),
        msg(4, BOB, at(0, 30)),
        msg(5, BOB, at(0, 50)),
        msg(6, BOB, at(0, 65)),
        msg(7, ANN, at(0, 70)),
      ],
      peerRead: 3,
      peerDelivered: 6,
    });
    expect(rows.map(describeRow)).toEqual([
      'day Yesterday',
      'theirs m1 [head]',
      'day Today',
      'mine m2 [head] read',
      'mine m3 read Seen',
      'theirs m4 [head]',
      'theirs m5',
      'theirs m6 [head]',
      'mine m7 [head] sent',
    ]);
    // Bob's group head names him with his initials; Ann's own carries only the time.
    expect(rows[1]!.querySelector('.group-head .sender')?.textContent).toBe('Bob');
    expect(rows[1]!.querySelector('.avatar')?.textContent).toBe('B');
    expect(rows[3]!.querySelector('.group-head .sender')).toBeNull();
  });

  it('delivered but unread: ✓✓ without "Seen"; the outbox comes after everything stored', () => {
    const rows = render({
      messages: [msg(1, ANN, at(0, 0)), msg(2, ANN, at(0, 1))],
      outgoing: [out('a', 'pending', at(0, 2)), out('b', 'failed', at(0, 200))],
      peerRead: 0,
      peerDelivered: 2,
    });
    expect(rows.map(describeRow)).toEqual(['day Today', 'mine m1 [head] delivered', 'mine m2 delivered', 'mine out a pending', 'mine out b [head] failed']);
    expect(rows[4]!.querySelector('.failed-reason')?.textContent).toBe('Not sent. This message is too long. Shorten it or split it into a few messages.');
    expect([...rows[4]!.querySelectorAll('button')].map((b: Row) => b.textContent)).toEqual(['Retry', 'Delete']);
  });

  it('turns web addresses into links without turning anything into markup', () => {
    const [, row] = render({ messages: [msg(1, BOB, at(0, 0), 'see https://example.com/a?b=1. <b>not bold</b>')] });
    const link = row!.querySelector('a')!;
    expect(link.getAttribute('href')).toBe('https://example.com/a?b=1');
    expect(link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(row!.querySelector('b')).toBeNull();
    expect(row!.querySelector('.text')?.textContent).toBe('see https://example.com/a?b=1. <b>not bold</b>');
  });
});
