import { stdSerializers } from 'pino';

/**
 * Database errors carry what a query was given: a Postgres error's `detail` and message quote
 * values ("Key (email)=(...) already exists", "invalid input syntax ...: \"...\""), and
 * drizzle's DrizzleQueryError (drizzle still runs the migrations) puts every bound parameter
 * in its message, stack and `params`. Logs keep only what names the failure: the SQLSTATE,
 * severity and the schema objects involved.
 */
const KEPT_FIELDS = ['code', 'severity', 'schema_name', 'table_name', 'column_name', 'data_type_name', 'constraint_name', 'routine'] as const;

type ErrorLike = Error & Record<string, unknown>;

const isError = (value: unknown): value is ErrorLike => value instanceof Error;
const isDrizzleQueryError = (err: ErrorLike) => 'params' in err && typeof err.query === 'string';
const isPostgresError = (err: ErrorLike) => err.name === 'PostgresError';

/** The chain an error wraps (cause, AggregateError members), itself first; bounded against cycles. */
function chainOf(err: ErrorLike): ErrorLike[] {
  const chain: ErrorLike[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && chain.length < 8) {
    const next = queue.shift();
    if (!isError(next) || chain.includes(next)) continue;
    chain.push(next);
    queue.push(next.cause);
    if (next instanceof AggregateError) queue.push(...next.errors);
  }
  return chain;
}

/** What pino logs for an error. */
export interface SerializedError {
  type: string;
  message: string;
  stack: string;
  [key: string]: unknown;
}

/** pino's `err` serializer, except that an error from (or wrapping one from) the database is redacted. */
export function serializeError(value: Error): SerializedError {
  if (!isError(value)) return value as never;
  const chain = chainOf(value);
  const query = chain.find(isDrizzleQueryError);
  const postgres = chain.find(isPostgresError);
  if (!query && !postgres) return stdSerializers.err(value) as unknown as SerializedError;
  return redacted(value, chain, query, postgres);
}

function redacted(err: ErrorLike, chain: ErrorLike[], query: ErrorLike | undefined, postgres: ErrorLike | undefined): SerializedError {
  const out: SerializedError = { type: err.constructor.name, message: summary(err, chain, postgres), stack: '' };
  if (query) out.query = query.query;
  for (const field of KEPT_FIELDS) if (postgres?.[field] !== undefined) out[field] = postgres[field];
  // A connection failure (no Postgres error) still says which: ECONNREFUSED, CONNECTION_CLOSED...
  const code = chain.map((e) => e.code).find((c) => typeof c === 'string');
  if (out.code === undefined && code !== undefined) out.code = code;
  out.stack = framesOf(err.stack);
  return out;
}

/** Our own message when the error is ours (it names no values), else a fixed one. */
function summary(err: ErrorLike, chain: ErrorLike[], postgres: ErrorLike | undefined): string {
  const own = isDrizzleQueryError(err) || isPostgresError(err) ? null : err.message;
  const driver = chain.find((e) => !isDrizzleQueryError(e) && !isPostgresError(e) && e !== err && typeof e.code === 'string');
  const what = postgres ? `database error ${String(postgres.code)}` : `database unreachable${driver ? ` (${driver.message})` : ''}`;
  return own ? `${own}: ${what} (values redacted)` : `${what} (values redacted)`;
}

/** Only the "at ..." lines: the first lines of a stack repeat the message. */
function framesOf(stack: string | undefined): string {
  return (stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)).join('\n');
}

/**
 * A safety net for log lines that put an error's message in a field of their own
 * (`{err: err.message}`): drizzle's "Failed query: ...\nparams: ..." loses its parameters.
 */
export function scrubLogFields(fields: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string' && value.startsWith('Failed query: ')) fields[key] = value.replace(/\nparams: [\s\S]*$/, '\nparams: [redacted]');
  }
  return fields;
}
