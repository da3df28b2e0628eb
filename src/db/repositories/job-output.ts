import type { Executor } from '../client.js';

export interface OutputChunkRow {
  offset: number;
  data: string;
}

/**
 * Stores a batch of chunks in one statement: their offsets continue the job's `output_count`,
 * bumped in the same statement, so the row lock orders writers and offsets stay gapless across
 * attempts, workers and crashes. Nothing is stored for a job that is gone. Ascending offsets.
 */
export async function appendOutput(sql: Executor, jobId: string, data: readonly string[]): Promise<OutputChunkRow[]> {
  if (data.length === 0) return [];
  const rows = await sql<OutputChunkRow[]>`
    with j as (
      update jobs set output_count = output_count + ${data.length}
      where id = ${jobId}
      returning output_count - ${data.length} as base
    )
    insert into job_output (job_id, "offset", data)
    select ${jobId}, j.base + t.ord::int - 1, t.data
    from j, unnest(${sql.array([...data])}::text[]) with ordinality as t(data, ord)
    returning "offset", data`;
  return rows.map((r) => ({ offset: r.offset, data: r.data })).sort((a, b) => a.offset - b.offset);
}

/** Up to `limit` stored chunks with `offset >= from`, ascending, and whether more follow. */
export async function readOutput(sql: Executor, jobId: string, from: number, limit: number): Promise<{ chunks: OutputChunkRow[]; hasMore: boolean }> {
  const rows = await sql<OutputChunkRow[]>`
    select "offset", data from job_output
    where job_id = ${jobId} and "offset" >= ${from}
    order by "offset" limit ${limit + 1}`;
  const chunks = rows.slice(0, limit).map((r) => ({ offset: r.offset, data: r.data }));
  return { chunks, hasMore: rows.length > limit };
}
