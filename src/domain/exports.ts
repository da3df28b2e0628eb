import { resolve, sep } from 'node:path';
import type { Sql } from 'postgres';
import { notFound } from '../errors.js';
import { getOwnJob } from './jobs.js';

/**
 * The file of the caller's finished `conversation.export` job. The path comes from the
 * job's result, so it is checked to lie inside EXPORT_DIR before anything is read.
 */
export async function exportFileOf(sql: Sql, exportDir: string, ownerId: number, jobId: string): Promise<string> {
  const job = await getOwnJob(sql, ownerId, jobId);
  const path = (job.result as { path?: unknown } | null)?.path;
  if (job.name !== 'conversation.export' || job.state !== 'completed' || typeof path !== 'string') throw notFound('Export');
  const root = resolve(exportDir) + sep;
  const file = resolve(path);
  if (!file.startsWith(root)) throw notFound('Export');
  return file;
}
