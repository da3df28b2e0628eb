import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { testConfig } from './config.js';

export interface RunningApp {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export interface StartOptions {
  /**
   * A fixed port instead of a random one, for tests that must know the origin before the
   * hub starts (a browser page needs it in ALLOWED_ORIGINS).
   */
  port?: number;
}

/** A real hub listening on a free loopback port, built exactly as `npm start` builds it. */
export async function startApp(env: Record<string, string> = {}, options: StartOptions = {}): Promise<RunningApp> {
  const level = process.env.TEST_LOG_LEVEL;
  const app = await buildApp(testConfig(env), { logger: level ? { level } : false });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
