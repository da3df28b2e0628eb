import { setTimeout as sleep } from 'node:timers/promises';
import { defineProcessor } from '../processor.js';

const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor'];

/** A stand-in for streamed model output: one output chunk per token (a word and one space), `token_ms` apart. */
export default defineProcessor('demo.stream', async (job, ctx) => {
  const { tokens, token_ms } = job.data;
  for (let i = 0; i < tokens; i++) {
    if (token_ms > 0) await sleep(token_ms, undefined, { signal: ctx.signal });
    else ctx.signal.throwIfAborted();
    await ctx.output(`${WORDS[i % WORDS.length]} `);
    // Progress in whole percents only: a status write per token would cost more than the tokens.
    const percent = Math.floor((100 * (i + 1)) / tokens);
    if (percent !== Math.floor((100 * i) / tokens)) await ctx.progress(percent, `${i + 1}/${tokens} tokens`);
  }
  return { tokens };
});
