import type { FastifyServerOptions } from 'fastify';
import type { Config } from './config.js';
import { scrubLogFields, serializeError } from './log-redaction.js';

/**
 * pino options: JSON in production, pretty in development when pino-pretty is installed.
 * Database errors are redacted wherever they are logged (hub and workers share these options):
 * no bound parameter or quoted value reaches a log line.
 */
export function loggerOptions(config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>): FastifyServerOptions['logger'] {
  const base = {
    level: config.LOG_LEVEL,
    redact: ['req.headers.cookie', 'res.headers["set-cookie"]'],
    serializers: { err: serializeError },
    formatters: { log: scrubLogFields },
  };
  if (config.NODE_ENV !== 'development' || !process.stdout.isTTY) return base;
  return { ...base, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } };
}
