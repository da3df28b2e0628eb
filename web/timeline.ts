import type { Message, OutgoingMessage, Peer } from '@inbox-hub/client';
import { avatar } from './avatar.js';
import { dayKey, dayLabel, el, shortTime, srOnly, type Keyed } from './dom.js';
import { messageFor } from './errors.js';

/** Everything the message list is drawn from. */
export interface TimelineInput {
  me: Peer;
  peer: Peer;
  messages: Message[];
  outgoing: OutgoingMessage[];
  /** The other member's markers: every own message up to these seqs was read / delivered. */
  peerRead: number;
  peerDelivered: number;
  onRetry: (clientMsgId: string) => void;
  onDiscard: (clientMsgId: string) => void;
}

interface Row {
  mine: boolean;
  senderKey: string;
  at: string;
}

type Delivery = 'sent' | 'delivered' | 'read';

const TICKS: Record<Delivery, [string, string]> = {
  sent: ['✓', 'Sent'],
  delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'],
};

const minute = (iso: string) => Math.floor(new Date(iso).getTime() / 60_000);

/** A new group starts with another sender, another minute or another day. */
const continues = (prev: Row | null, row: Row) =>
  prev !== null && prev.senderKey === row.senderKey && minute(prev.at) === minute(row.at) && dayKey(prev.at) === dayKey(row.at);

/**
 * The rows of the message list: date separators, stored messages grouped by sender and
 * minute, "Seen" once under the last own message the other member has read, then the
 * outbox (pending or failed) after everything stored.
 */
export function timeline(input: TimelineInput): Keyed[] {
  const { me, messages, outgoing, peerRead, peerDelivered } = input;
  const myId = String(me.id);
  const lastSeenSeq = Math.max(0, ...messages.filter((m) => m.sender_id === myId && m.seq <= peerRead).map((m) => m.seq));
  const rows: Keyed[] = [];
  const all: { row: Row; item: (start: boolean, end: boolean) => Keyed }[] = [];
  for (const m of messages) {
    const mine = m.sender_id === myId;
    const delivery: Delivery = m.seq <= peerRead ? 'read' : m.seq <= peerDelivered ? 'delivered' : 'sent';
    all.push({ row: { mine, senderKey: m.sender_id, at: m.created_at }, item: (start, end) => storedRow(input, m, mine, start, end, mine ? delivery : null, m.seq === lastSeenSeq) });
  }
  for (const o of outgoing) all.push({ row: { mine: true, senderKey: myId, at: o.created_at }, item: (start, end) => outgoingRow(input, o, start, end) });
  let day = '';
  for (let i = 0; i < all.length; i++) {
    const { row, item } = all[i]!;
    if (dayKey(row.at) !== day) {
      day = dayKey(row.at);
      const label = dayLabel(row.at);
      rows.push({ key: `day-${day}`, sig: label, build: () => el('li', { className: 'day' }, el('span', {}, label)) });
    }
    const start = !continues(all[i - 1]?.row ?? null, row);
    const end = !continues(row, all[i + 1]?.row ?? ({} as Row));
    rows.push(item(start, end));
  }
  return rows;
}

function storedRow(input: TimelineInput, m: Message, mine: boolean, start: boolean, end: boolean, delivery: Delivery | null, seen: boolean): Keyed {
  return {
    key: `m-${m.seq}`,
    sig: `${start}${end}${delivery}${seen}${m.sender_name}${m.sender_avatar}`,
    build: () => {
      const classes = ['message', mine ? 'mine' : 'theirs', start && 'group-start', end && 'group-end'].filter(Boolean).join(' ');
      const sender = mine ? input.me : { id: Number(m.sender_id), name: m.sender_name, avatar_url: m.sender_avatar };
      return el(
        'li',
        { className: classes, attrs: { 'data-seq': String(m.seq) } },
        start && groupHeader(sender, mine, m.created_at),
        el('div', { className: 'bubble' }, body(m), delivery && ticks(delivery)),
        seen && el('span', { className: 'seen' }, 'Seen'),
      );
    },
  };
}

function outgoingRow(input: TimelineInput, o: OutgoingMessage, start: boolean, end: boolean): Keyed {
  const failed = o.status === 'failed';
  return {
    key: `o-${o.client_msg_id}`,
    sig: `${start}${end}${o.status}${o.error?.code}`,
    build: () => {
      const classes = ['message', 'mine', o.status, start && 'group-start', end && 'group-end'].filter(Boolean).join(' ');
      const state = failed
        ? el('span', { className: 'delivery', attrs: { 'data-status': 'failed' } }, el('span', { attrs: { 'aria-hidden': 'true' } }, '!'), srOnly('Not sent'))
        : el('span', { className: 'delivery', attrs: { 'data-status': 'pending', title: 'Sending…' } }, el('span', { attrs: { 'aria-hidden': 'true' } }, '◷'), srOnly('Sending…'));
      const li = el(
        'li',
        { className: classes, attrs: { 'data-client-msg-id': o.client_msg_id } },
        start && groupHeader(input.me, true, o.created_at),
        el('div', { className: 'bubble' }, el('span', { className: 'text' }, o.message), state),
      );
      if (failed) li.append(failedLine(input, o));
      return li;
    },
  };
}

function failedLine(input: TimelineInput, o: OutgoingMessage): HTMLElement {
  const retry = el('button', { className: 'retry', attrs: { type: 'button' } }, 'Retry');
  retry.onclick = () => input.onRetry(o.client_msg_id);
  const discard = el('button', { className: 'discard link', attrs: { type: 'button' } }, 'Delete');
  discard.onclick = () => input.onDiscard(o.client_msg_id);
  const reason = messageFor(o.error?.code ?? 'unknown', 'send');
  return el('div', { className: 'failed-line' }, el('span', { className: 'failed-reason' }, `Not sent. ${reason}`), retry, discard);
}

function groupHeader(sender: Peer, mine: boolean, at: string): HTMLElement {
  const time = el('time', { className: 'when', attrs: { datetime: at } }, shortTime(at));
  if (mine) return el('div', { className: 'group-head' }, time);
  return el('div', { className: 'group-head' }, avatar(sender, 'sm'), el('span', { className: 'sender' }, sender.name), time);
}

function ticks(delivery: Delivery): HTMLElement {
  const [glyph, label] = TICKS[delivery];
  return el('span', { className: 'delivery', attrs: { 'data-status': delivery, title: label } }, el('span', { attrs: { 'aria-hidden': 'true' } }, glyph), srOnly(label));
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

/** The text, with web addresses as links (as text nodes and anchors: nothing becomes markup). */
function body(m: Message): HTMLElement {
  const text = el('span', { className: 'text' });
  let at = 0;
  for (const match of m.message.matchAll(URL_RE)) {
    text.append(m.message.slice(at, match.index));
    text.append(el('a', { attrs: { href: match[0], target: '_blank', rel: 'noopener noreferrer' } }, match[0]));
    at = match.index! + match[0].length;
  }
  text.append(m.message.slice(at));
  if (m.type !== 'TEXT') text.prepend(el('span', { className: 'kind' }, m.type === 'IMAGE' ? 'Image: ' : 'File: '));
  return text;
}
