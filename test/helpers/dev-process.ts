import { testEnv } from './config.js';
import { freePort, spawnTs, type ChildService } from './processes.js';
import { waitForOutput } from './worker-process.js';

/**
 * `npm run dev` as a child process (hub and worker in one), serving its own origin so a
 * browser page works too; resolves once it printed the URL to open.
 */
export async function spawnDev(env: Record<string, string>): Promise<{ dev: ChildService; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dev = spawnTs('src/dev.ts', testEnv({ PORT: String(port), ALLOWED_ORIGINS: url, ...env }), port);
  // The first start of an embedded database runs initdb: several seconds on a busy machine.
  await waitForOutput(dev, `open ${url}/`, 90_000);
  return { dev, url };
}
