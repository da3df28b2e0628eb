import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../src/errors.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api } from '../helpers/http.js';
import { protocolEvents, readRepoFile } from './protocol-docs.js';

// docs/protocol.md is meant to be enough to write a frontend: it must name everything the hub serves.
const doc = readRepoFile('docs/protocol.md');
const section = (heading: string) => {
  const start = doc.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  const level = heading.split(' ')[0]!;
  const next = doc.slice(start + heading.length + 2).search(new RegExp(`\\n#{1,${level.length}} `));
  return doc.slice(start, next < 0 ? undefined : start + heading.length + 2 + next);
};
/** The first cells of a section's table rows: "| `typing` | ..." gives "typing". */
const rowKeys = (text: string) => [...text.matchAll(/^\| `([^`]+)`/gm)].map((m) => m[1]!);

let hub: RunningApp;
beforeAll(async () => {
  hub = await startApp();
});
afterAll(() => hub.close());

describe('docs/protocol.md', () => {
  it('has a row for every event of src/realtime/protocol.ts, in its direction', () => {
    const events = protocolEvents();
    expect(new Set(rowKeys(section('### Client to hub')))).toEqual(new Set(events.ClientToServerEvents));
    expect(new Set(rowKeys(section('### Hub to client')))).toEqual(new Set(events.ServerToClientEvents));
    const legacy = section('### Legacy namespace `/chat/<conversation_id>`');
    for (const e of [...events.LegacyClientToServerEvents!, ...events.LegacyServerToClientEvents!]) expect(legacy).toContain(`\`${e}\``);
  });

  it('has a row for every HTTP route the hub serves', async () => {
    const spec = (await api(hub.url, 'GET', '/docs/json')).body as { paths: Record<string, object> };
    const routes = Object.entries(spec.paths)
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
    expect(routes.length).toBeGreaterThanOrEqual(14);
    const documented = new Set(rowKeys(section('## HTTP API')));
    for (const route of [...routes, 'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /admin/queues']) expect(documented, route).toContain(route);
  });

  it('has a row for every error code and every configuration variable', () => {
    expect(rowKeys(section('## Errors'))).toEqual(Object.keys(ERROR_STATUS));
    const variables = [...readRepoFile('src/config.ts').matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
    expect(variables.length).toBeGreaterThan(20);
    const table = section('## Configuration');
    const readme = readRepoFile('README.md');
    for (const v of variables) {
      expect(table, v).toContain(`\`${v}\``);
      expect(readme, v).toContain(`\`${v}\``);
    }
  });
});
