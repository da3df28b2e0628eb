import { spawnTs, type ChildService } from './processes.js';
import { testEnv } from './config.js';

/**
 * Spawns a real worker process (`workers/main.ts` through tsx, as `npm run worker` runs it) and
 * resolves once it logs that it is ready; rejects with its output if it exits or stalls first.
 */
export async function spawnWorker(env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ChildService> {
  const worker = spawnTs('workers/main.ts', testEnv({ LOG_LEVEL: 'info', ...env }));
  await waitForOutput(worker, '"msg":"worker ready"', timeoutMs);
  return worker;
}

/** The worker processes one test file spawns, all SIGKILLed by `stopAll` in its afterAll. */
export function workerPool(env: Record<string, string> = {}) {
  const spawned: ChildService[] = [];
  return {
    spawn: async () => {
      const worker = await spawnWorker(env);
      spawned.push(worker);
      return worker;
    },
    latest: (): ChildService | undefined => spawned.at(-1),
    stopAll: async () => void (await Promise.all(spawned.map((w) => w.stop('SIGKILL')))),
  };
}

/** Resolves when the process has printed `text`; rejects (and kills it) if it exits or the time runs out first. */
export function waitForOutput(service: ChildService, text: string, timeoutMs = 20_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const finish = (err?: Error) => {
      clearTimeout(timer);
      service.child.stdout!.off('data', onData);
      if (err) reject(err);
      else resolve();
    };
    const onData = () => {
      if (service.output().includes(text)) finish();
    };
    const timer = setTimeout(() => {
      void service.stop('SIGKILL');
      finish(new Error(`no "${text}" within ${timeoutMs} ms:\n${service.output()}`));
    }, timeoutMs);
    service.child.stdout!.on('data', onData);
    void service.exited.then((code) => finish(new Error(`exited (${code}) before printing "${text}":\n${service.output()}`)));
    onData();
  });
}
