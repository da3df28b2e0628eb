import { spawnTs, type ChildService } from './processes.js';
import { testEnv } from './config.js';

const READY_LINE = '"msg":"worker ready"';

/**
 * Spawns a real worker process (`workers/main.ts` through tsx, as `npm run worker` runs it) and
 * resolves once it logs that it is ready; rejects with its output if it exits or stalls first.
 */
export async function spawnWorker(env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ChildService> {
  const worker = spawnTs('workers/main.ts', testEnv({ LOG_LEVEL: 'info', ...env }));
  await new Promise<void>((resolve, reject) => {
    const finish = (err?: Error) => {
      clearTimeout(timer);
      worker.child.stdout!.off('data', onData);
      if (err) reject(err);
      else resolve();
    };
    const onData = () => {
      if (worker.output().includes(READY_LINE)) finish();
    };
    const timer = setTimeout(() => {
      void worker.stop('SIGKILL');
      finish(new Error(`worker not ready within ${timeoutMs} ms:\n${worker.output()}`));
    }, timeoutMs);
    worker.child.stdout!.on('data', onData);
    void worker.exited.then((code) => finish(new Error(`worker exited (${code}) before it was ready:\n${worker.output()}`)));
  });
  return worker;
}
