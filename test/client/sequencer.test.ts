import { describe, expect, it } from 'vitest';
import { MessageSequencer } from '../../client/src/sequencer.js';
import type { MessageDto } from '../../src/realtime/protocol.js';

const msg = (conversation_id: number, seq: number): MessageDto => ({
  id: conversation_id * 1000 + seq,
  conversation_id,
  seq,
  sender_id: '1',
  sender_name: 'Ann',
  sender_avatar: null,
  message: `${conversation_id}:${seq}`,
  type: 'TEXT',
  created_at: '2025-01-01T00:00:00.000Z',
  message_id: conversation_id * 1000 + seq,
  client_msg_id: null,
});

const seqs = (r: { deliver: MessageDto[] }) => r.deliver.map((m) => m.seq);

describe('MessageSequencer', () => {
  it('hands on consecutive seqs at once and drops any seq already handed on', () => {
    const s = new MessageSequencer();
    expect(seqs(s.accept(msg(1, 1)))).toEqual([1]);
    expect(s.accept(msg(1, 2))).toEqual({ deliver: [msg(1, 2)], gap: false });
    expect(s.accept(msg(1, 1))).toEqual({ deliver: [], gap: false });
    expect(s.accept(msg(1, 2))).toEqual({ deliver: [], gap: false });
    expect(s.lastSeq(1)).toBe(2);
  });

  it('holds an early seq, reports the gap once, and releases everything in order when it is filled', () => {
    const s = new MessageSequencer();
    s.track(1, 4);
    expect(s.accept(msg(1, 7))).toEqual({ deliver: [], gap: true });
    expect(s.accept(msg(1, 7))).toEqual({ deliver: [], gap: false });
    expect(s.accept(msg(1, 6))).toEqual({ deliver: [], gap: true });
    expect(s.accept(msg(1, 5))).toEqual({ deliver: [msg(1, 5), msg(1, 6), msg(1, 7)], gap: false });
    expect(s.cursors()).toEqual({ 1: 7 });
  });

  it('keeps one cursor per conversation and never moves one back', () => {
    const s = new MessageSequencer();
    s.track(1, 3);
    s.track(1, 1);
    s.accept(msg(2, 1));
    expect(s.cursors()).toEqual({ 1: 3, 2: 1 });
    expect(s.cursors([2])).toEqual({ 2: 1 });
    expect(s.isTracked(3)).toBe(false);
  });
});
