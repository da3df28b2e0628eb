import { describe, expect, it } from 'vitest';
import { parseJobInput } from '../../src/queue/catalog.js';
import { testConfig, testEnv } from '../helpers/config.js';
import { spawnTs } from '../helpers/processes.js';
import { assertOneProcessorPerJob, defineProcessor } from '../../workers/processor.js';
import { PROCESSORS } from '../../workers/processors/index.js';
import { startWorkers } from '../../workers/start.js';

const noop = async () => null;

describe('the job catalog', () => {
  it('has exactly one processor per job name in workers/processors', () => {
    expect(() => assertOneProcessorPerJob(PROCESSORS)).not.toThrow();
  });

  it('refuses to boot a worker whose processors disagree with it, in one line', async () => {
    const extra = defineProcessor('demo.steps', noop);
    const [exportProcessor] = PROCESSORS;
    expect(() => assertOneProcessorPerJob([exportProcessor!])).toThrow(
      new Error('job catalog and processors disagree: no processor for "demo.steps"; no processor for "demo.stream"'),
    );
    expect(() => assertOneProcessorPerJob([...PROCESSORS, extra])).toThrow(
      new Error('job catalog and processors disagree: more than one processor for "demo.steps"'),
    );
    const unknown = { name: 'mail.send', run: noop } as unknown as (typeof PROCESSORS)[number];
    expect(() => assertOneProcessorPerJob([...PROCESSORS, unknown])).toThrow(
      new Error('job catalog and processors disagree: processor for "mail.send", which is not in the job catalog'),
    );
    await expect(startWorkers(testConfig(), { processors: [] })).rejects.toThrow(/^job catalog and processors disagree: no processor for "conversation.export"; no processor for "demo.steps"; no processor for "demo.stream"$/);
  });

  it('returns validated data with its name', () => {
    expect(parseJobInput('demo.steps', { steps: 2, step_ms: 5, extra: true })).toEqual({ name: 'demo.steps', data: { steps: 2, step_ms: 5 } });
  });

  it('stops a worker with bad configuration at start, with one line naming the variable', async () => {
    const child = spawnTs('workers/main.ts', testEnv({ JOB_LOCK_MS: '10' }));
    expect(await child.exited).toBe(1);
    expect(child.output().trim()).toMatch(/^Invalid configuration: JOB_LOCK_MS: [^\n]+$/);
  });
});
