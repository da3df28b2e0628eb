import { setTimeout as sleep } from 'node:timers/promises';
import { defineProcessor } from '../processor.js';

/** A diagnostic job: one progress step (and one output line) at a time, so a deployment can be watched end to end. */
export default defineProcessor('demo.steps', async (job, ctx) => {
  const { steps, step_ms, fail_at_step } = job.data;
  for (let step = 1; step <= steps; step++) {
    await sleep(step_ms, undefined, { signal: ctx.signal });
    if (step === fail_at_step) throw new Error(`demo.steps failed at step ${step}`);
    await ctx.output(`step ${step}/${steps} done\n`);
    await ctx.progress(Math.round((100 * step) / steps), `step ${step}/${steps}`);
  }
  return { steps };
});
