export type SeqVerdict = 'next' | 'duplicate' | 'gap' | 'reordered';

interface Stream {
  /** Every seq up to here was seen. */
  contiguous: number;
  highest: number;
  /** Seen seqs above `contiguous`; bounded, see MAX_PENDING. */
  above: Set<number>;
}

// A stream that really lost a message would otherwise grow `above` forever.
const MAX_PENDING = 5000;

/**
 * What a client sees of one seq stream (per socket and conversation): the next seq,
 * a duplicate, a jump forward (the client would `sync`), or a late one filling a hole.
 */
export class SeqTracker {
  private readonly streams = new Map<number, Stream>();

  see(key: number, seq: number): SeqVerdict {
    let s = this.streams.get(key);
    if (!s) {
      s = { contiguous: 0, highest: 0, above: new Set() };
      this.streams.set(key, s);
    }
    if (seq <= s.contiguous || s.above.has(seq)) return 'duplicate';
    const verdict: SeqVerdict = seq > s.highest + 1 ? 'gap' : seq < s.highest ? 'reordered' : 'next';
    if (seq > s.highest) s.highest = seq;
    if (seq === s.contiguous + 1) {
      s.contiguous = seq;
      while (s.above.delete(s.contiguous + 1)) s.contiguous++;
    } else {
      s.above.add(seq);
      if (s.above.size > MAX_PENDING) this.giveUpOnHoles(s);
    }
    return verdict;
  }

  private giveUpOnHoles(s: Stream): void {
    s.contiguous = Math.min(...s.above);
    s.above.delete(s.contiguous);
    while (s.above.delete(s.contiguous + 1)) s.contiguous++;
  }
}
