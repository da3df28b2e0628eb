import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { installShutdown } from './shutdown.js';

/** `npm start`: one hub pod. */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await buildApp(config);
  if (config.cookieSecretGenerated) app.log.warn('COOKIE_SECRET is not set: using a random one, sessions end at restart');
  installShutdown(app.log, () => app.close());
  await app.listen({ port: config.PORT, host: config.HOST });
}

main().catch((err: unknown) => {
  const line = err instanceof ConfigError ? err.message : `hub failed to start: ${(err as Error).message ?? String(err)}`;
  process.stderr.write(`${line}\n`);
  process.exit(1);
});
