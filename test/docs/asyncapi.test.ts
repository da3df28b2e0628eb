import { Parser } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api } from '../helpers/http.js';
import { protocolEvents } from './protocol-docs.js';

let hub: RunningApp;
beforeAll(async () => {
  hub = await startApp();
});
afterAll(() => hub.close());

const ERROR = 0;
const WARNING = 1;
// One parser: building its rule sets is most of the cost of a parse.
const parser = new Parser();
const problems = async (doc: unknown) => {
  const { diagnostics } = await parser.parse(JSON.stringify(doc));
  return diagnostics.filter((d) => d.severity === ERROR || d.severity === WARNING).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
};

type Operation = { action: 'send' | 'receive'; channel: { $ref: string }; messages: { $ref: string }[]; reply?: { messages: { $ref: string }[] } };

describe('/docs/asyncapi.json', () => {
  // Validation is CPU-heavy (spectral rules): seconds on an idle machine, much more on a busy one.
  it('is a valid AsyncAPI 3 document', { timeout: 120_000 }, async () => {
    const res = await fetch(`${hub.url}/docs/asyncapi.json`);
    expect([res.status, res.headers.get('content-type')]).toEqual([200, 'application/json; charset=utf-8']);
    const doc = (await res.json()) as any;
    expect(doc.asyncapi).toMatch(/^3\./);
    expect(await problems(doc)).toEqual([]);
    // The validator does reject a broken document.
    const broken = structuredClone(doc);
    broken.operations.inbox_sync_from_client.action = 'emit';
    expect((await problems(broken)).length).toBeGreaterThan(0);
  });

  it('names every event of src/realtime/protocol.ts, in its direction and namespace', async () => {
    const doc = (await api(hub.url, 'GET', '/docs/asyncapi.json')).body;
    const events = protocolEvents();
    const documented = (channel: string, action: Operation['action']) =>
      Object.values(doc.operations as Record<string, Operation>)
        .filter((op) => op.channel.$ref === `#/channels/${channel}` && op.action === action)
        .map((op) => {
          const [, , , , key] = op.messages[0]!.$ref.split('/');
          return doc.channels[channel].messages[key!].name as string;
        })
        .sort();
    expect(events.ClientToServerEvents!.length).toBeGreaterThan(5);
    expect(documented('inbox', 'receive')).toEqual([...events.ClientToServerEvents!].sort());
    expect(documented('inbox', 'send')).toEqual([...events.ServerToClientEvents!].sort());
    expect(documented('legacy_chat', 'receive')).toEqual([...events.LegacyClientToServerEvents!].sort());
    expect(documented('legacy_chat', 'send')).toEqual([...events.LegacyServerToClientEvents!].sort());
  });

  it('describes payloads and acks from the schemas the hub validates with', async () => {
    const doc = (await api(hub.url, 'GET', '/docs/asyncapi.json')).body;
    const schemas = doc.components.schemas;
    const send = schemas.inbox_message_from_client;
    expect(send.required).toEqual(['conversation_id', 'message', 'type']);
    expect(send.properties.type.enum).toEqual(['TEXT', 'IMAGE', 'FILE']);
    expect(send.properties.client_msg_id).toEqual({ type: 'string', minLength: 1, maxLength: 64 });
    expect(schemas.inbox_sync_from_client.properties.limit).toEqual({ type: 'integer', minimum: 1, maximum: 500 });
    expect(schemas.failed_ack.properties.error.properties.code.enum).toEqual(
      ['invalid_payload', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large', 'rate_limited', 'unavailable'],
    );
    const watch = doc.operations.inbox_job_watch_from_client as Operation;
    expect(watch.reply!.messages.map((m) => m.$ref)).toEqual(['#/channels/inbox/messages/job_watch_from_client_ack', '#/channels/inbox/messages/failed_ack']);
    expect(schemas.inbox_job_watch_from_client_ack.properties.job).toEqual({ $ref: '#/components/schemas/job' });
    expect(doc.operations.inbox_ready_from_server.reply).toBeUndefined();
  });
});

describe('/docs (OpenAPI)', () => {
  it('links the AsyncAPI document, and gives every /api route a tag, a summary and its error answers', async () => {
    const spec = (await api(hub.url, 'GET', '/docs/json')).body;
    expect(spec.info.description).toContain('](/docs/asyncapi.json)');
    expect(spec.externalDocs.url).toBe('/docs/asyncapi.json');
    const operations = Object.entries(spec.paths as Record<string, Record<string, any>>)
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, op })));
    expect(operations.length).toBeGreaterThanOrEqual(14);
    for (const { route, op } of operations) {
      expect([route, op.tags?.length, typeof op.summary]).toEqual([route, 1, 'string']);
      expect([route, op.responses['503']?.description]).toEqual([route, '`unavailable`']);
    }
    const open = spec.paths['/api/conversations'].post;
    expect(open.tags).toEqual(['conversations']);
    expect(open.security).toEqual([{ session: [] }]);
    expect(Object.keys(open.responses).sort()).toEqual(['200', '201', '400', '401', '403', '404', '429', '503']);
    expect(open.responses['429'].content['application/json'].schema.properties.error.properties.code.enum).toEqual(['rate_limited']);
    expect(spec.paths['/api/auth/login'].post.security).toBeUndefined();
  });
});
