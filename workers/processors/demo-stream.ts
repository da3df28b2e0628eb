import { setTimeout as sleep } from 'node:timers/promises';
import { defineProcessor } from '../processor.js';

const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor'];

/**
 * A stand-in for streamed model output: one output chunk per token (a word and one space).
 * Token i is written at the start + (i + 1) x `token_ms`, on a schedule rather than after a
 * sleep each, so the stream keeps its rate whatever the writes cost (and a bench knows when
 * each token was written).
 */
export default defineProcessor('demo.stream', async (job, ctx) => {
  const { tokens, token_ms } = job.data;
  const start = performance.now();
  for (let i = 0; i < tokens; i++) {
    const wait = start + (i + 1) * token_ms - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal: ctx.signal });
    else ctx.signal.throwIfAborted();
    await ctx.output(`${WORDS[i % WORDS.length]} `);
    // Progress in whole percents only: a status write per token would cost more than the tokens.
    const percent = Math.floor((100 * (i + 1)) / tokens);
    if (percent !== Math.floor((100 * i) / tokens)) await ctx.progress(percent, `${i + 1}/${tokens} tokens`);
  }
  return { tokens };
});
