import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import {
  configSchemaKeys,
  containersOf,
  find,
  readYaml,
  renderKustomization,
  ROOT,
  K8S_DIR,
  sourceConstant,
  unknownFields,
  validateManifest,
  yamlFiles,
  type Loaded,
} from './manifests.js';

const KUSTOMIZATIONS = ['.', 'migrate', 'prometheus-operator'];
const app = renderKustomization('.');
const migrate = renderKustomization('migrate');
const monitoring = renderKustomization('prometheus-operator');
const secretExample: Loaded = { file: 'secret.example.yaml', manifest: readYaml(join(K8S_DIR, 'secret.example.yaml'))[0]! };
const everything = [...app, ...migrate, ...monitoring, secretExample];

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const hub = find(app, 'Deployment', 'inbox-hub');
const worker = find(app, 'Deployment', 'inbox-worker');
const job = find(migrate, 'Job', 'inbox-migrate');
const configMap = find(app, 'ConfigMap', 'inbox-hub-config');
const hubContainer = containersOf(hub)[0];
const workerContainer = containersOf(worker)[0];
const jobContainer = containersOf(job)[0];

/** Values a real Secret would hold: valid for the hub's schema. */
const REAL_SECRETS = {
  DATABASE_URL: 'postgres://inbox:pw@db.internal:5432/inbox',
  REDIS_URL: 'rediss://:pw@redis.internal:6380',
  COOKIE_SECRET: 'a'.repeat(48),
  METRICS_TOKEN: 'b'.repeat(32),
  NOTIFY_WEBHOOK_SECRET: 'c'.repeat(32),
};

/** Read by Node itself, not by the hub's configuration. */
const RUNTIME_VARIABLES = new Set(['NODE_OPTIONS']);

describe('the Kubernetes manifests against the Kubernetes API schemas', () => {
  it('every YAML file under deploy/kubernetes is a kustomization, one of their resources, or the Secret template', () => {
    const listed = new Set([
      ...KUSTOMIZATIONS.map((d) => join(d, 'kustomization.yaml')),
      ...everything.map((l) => l.file),
    ]);
    expect(yamlFiles().filter((f) => !listed.has(f))).toEqual([]);
  });

  it('holds the objects the deployment needs', () => {
    const kinds = everything.map((l) => `${l.manifest.kind}/${l.manifest.metadata.name}`).sort();
    expect(kinds).toEqual(
      [
        'ConfigMap/inbox-hub-config',
        'Deployment/inbox-hub',
        'Deployment/inbox-worker',
        'HorizontalPodAutoscaler/inbox-hub',
        'Ingress/inbox-hub',
        'Job/inbox-migrate',
        'Namespace/inbox',
        'PersistentVolumeClaim/inbox-exports',
        'PodDisruptionBudget/inbox-hub',
        'PodDisruptionBudget/inbox-worker',
        'Secret/inbox-hub-secrets',
        'Service/inbox-hub',
        'ServiceMonitor/inbox-hub',
      ].sort(),
    );
  });

  it.each(everything.map((l) => [`${l.file} ${l.manifest.kind}/${l.manifest.metadata.name}`, l] as const))('%s is valid', (_, loaded) => {
    expect(() => validateManifest(loaded)).not.toThrow();
  });

  it('the validator refuses a broken manifest (a port as a string, a probe without a port)', () => {
    const broken = structuredClone(hub);
    containersOf(broken)[0].ports[0].containerPort = '8000';
    expect(() => validateManifest({ file: 'x', manifest: broken })).toThrow(/containerPort must be integer/);
    const noPort = structuredClone(hub);
    delete containersOf(noPort)[0].readinessProbe.httpGet.port;
    expect(() => validateManifest({ file: 'x', manifest: noPort })).toThrow(/readinessProbe\/httpGet must have required property port/);
  });

  it('no manifest sets a field the API does not define, and the check names a misspelt or misplaced one', async () => {
    // One compiler run for the real manifests and two broken copies.
    const typo = structuredClone(hub);
    const c = containersOf(typo)[0];
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
    const misplaced = structuredClone(find(app, 'Service', 'inbox-hub'));
    misplaced.spec.ports[0].selector = misplaced.spec.selector;
    const errors = await unknownFields([...everything, { file: 'typo.yaml', manifest: typo }, { file: 'misplaced.yaml', manifest: misplaced }]);
    expect(errors).toEqual([
      `typo.yaml Deployment/inbox-hub: Object literal may only specify known properties, and '"readinesProbe"' does not exist in type 'IContainer'.`,
      `misplaced.yaml Service/inbox-hub: Object literal may only specify known properties, and '"selector"' does not exist in type 'IServicePort'.`,
    ]);
  }, 120_000);

  it('every namespaced object lands in the one namespace, and the image is rewritten everywhere', () => {
    const namespaces = new Set(everything.filter((l) => l.manifest.kind !== 'Namespace').map((l) => l.manifest.metadata.namespace));
    expect([...namespaces]).toEqual(['inbox']);
    const images = new Set([hubContainer, workerContainer, jobContainer].map((c) => c.image));
    expect([...images]).toEqual(['registry.example.com/inbox-hub:0.1.0']);
  });
});

describe('the manifests against what the hub and the worker really run', () => {
  it('the commands are npm start, npm run worker and npm run db:migrate without tsx or a build', () => {
    // `npm start` / `npm run worker` run the compiled entry points; the image's CMD is the hub's.
    // The scripts read a local `.env` when there is one; the image has none (.dockerignore) and
    // takes its settings from the ConfigMap and Secret, so the pods run the same entry points bare.
    expect(readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n')).toContain('.env');
    const bare = (script: string | undefined) => script?.replace(' --env-file-if-exists=.env', '');
    expect(hubContainer.command.join(' ')).toBe(bare(pkg.scripts.start));
    expect(workerContainer.command.join(' ')).toBe(bare(pkg.scripts.worker));
    const dockerCmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
    expect(JSON.parse(dockerCmd!)).toEqual(hubContainer.command);
    // db:migrate runs src/<x>.ts through tsx; the image holds tsc's dist/src/<x>.js and the
    // migrations `npm run build` copies next to it.
    const migrateEntry = /^tsx (src\/\S+)\.ts$/.exec(bare(pkg.scripts['db:migrate'])!)?.[1];
    expect(jobContainer.command).toEqual(['node', `dist/${migrateEntry}.js`]);
    expect(pkg.scripts.build).toContain("cpSync('src/db/migrations','dist/src/db/migrations'");
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
  });

  it('every variable the manifests set is one src/config.ts reads (or Node does)', () => {
    const known = new Set(configSchemaKeys());
    expect(known.has('DATABASE_URL') && known.has('REDIS_CLUSTER_NODES')).toBe(true);
    const secret = secretExample.manifest.stringData as Record<string, string>;
    const names = [
      ...Object.keys(configMap.data),
      ...Object.keys(secret),
      ...[hubContainer, workerContainer, jobContainer].flatMap((c) => (c.env ?? []).map((e: { name: string }) => e.name)),
    ];
    const unknown = names.filter((n) => !known.has(n) && !RUNTIME_VARIABLES.has(n));
    expect(unknown).toEqual([]);
    // The secrets are in the Secret, never in the ConfigMap.
    expect(Object.keys(secret).sort()).toEqual(['COOKIE_SECRET', 'DATABASE_URL', 'METRICS_TOKEN', 'NOTIFY_WEBHOOK_SECRET', 'REDIS_URL']);
    expect(Object.keys(configMap.data).filter((n) => n in secret)).toEqual([]);
  });

  it('the ConfigMap with real secrets is a valid production configuration; the template as it is is refused', () => {
    const config = loadConfig({ ...configMap.data, ...REAL_SECRETS });
    expect(config.NODE_ENV).toBe('production');
    expect(config.PORT).toBe(8000);
    expect(config.EXPORT_DIR).toBe('/app/data/exports');
    expect(config.REDIS_CLUSTER_NODES).toBeUndefined();
    expect(loadConfig({ ...configMap.data, ...REAL_SECRETS, REDIS_CLUSTER_NODES: 'redis-0.redis:6379,redis-1.redis:6379' }).REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-0.redis', port: 6379 },
      { host: 'redis-1.redis', port: 6379 },
    ]);
    const placeholders = secretExample.manifest.stringData as Record<string, string>;
    expect(() => loadConfig({ ...configMap.data, ...placeholders })).toThrow(ConfigError);
    expect(() => loadConfig({ ...configMap.data, ...placeholders })).toThrow('COOKIE_SECRET: must be at least 32 characters');
    expect(() => loadConfig({ ...configMap.data, ...placeholders, COOKIE_SECRET: REAL_SECRETS.COOKIE_SECRET })).toThrow(
      'METRICS_TOKEN: must be at least 16 characters',
    );
  });

  it('the migration Job has what migrate-cli needs under the image NODE_ENV=production: the Secret', () => {
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^ENV NODE_ENV=production$/m);
    expect(jobContainer.envFrom).toEqual([{ secretRef: { name: 'inbox-hub-secrets' } }]);
    const env = Object.fromEntries(jobContainer.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(loadConfig({ NODE_ENV: 'production', ...env, ...REAL_SECRETS }).DATABASE_URL).toBe(REAL_SECRETS.DATABASE_URL);
  });

  it('hub and worker read the same ConfigMap and Secret, which exist', () => {
    const refs = [{ configMapRef: { name: 'inbox-hub-config' } }, { secretRef: { name: 'inbox-hub-secrets' } }];
    expect(hubContainer.envFrom).toEqual(refs);
    expect(workerContainer.envFrom).toEqual(refs);
    expect(secretExample.manifest.metadata.name).toBe('inbox-hub-secrets');
  });

  it('port: the container listens on PORT, and the probes, Service, Ingress, ServiceMonitor and scrape annotation all reach it', () => {
    const port = Number(configMap.data.PORT);
    expect(hubContainer.ports).toEqual([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) expect(hubContainer[probe].httpGet.port).toBe('http');
    const service = find(app, 'Service', 'inbox-hub');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    const backend = find(app, 'Ingress', 'inbox-hub').spec.rules[0].http.paths[0].backend.service;
    expect(backend).toEqual({ name: service.metadata.name, port: { name: 'http' } });
    expect(find(monitoring, 'ServiceMonitor', 'inbox-hub').spec.endpoints[0]).toMatchObject({
      port: 'http',
      path: '/metrics',
      bearerTokenSecret: { name: 'inbox-hub-secrets', key: 'METRICS_TOKEN' },
    });
    expect(hub.spec.template.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(port),
      'prometheus.io/path': '/metrics',
    });
  });

  it('selectors: the Service, HPA and hub PDB pick the hub pods only; the worker PDB the workers only', () => {
    const hubLabels = hub.spec.template.metadata.labels;
    const workerLabels = worker.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    for (const d of [hub, worker]) expect(selects(d.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    const service = find(app, 'Service', 'inbox-hub');
    const hubPdb = find(app, 'PodDisruptionBudget', 'inbox-hub');
    const workerPdb = find(app, 'PodDisruptionBudget', 'inbox-worker');
    expect([selects(service.spec.selector, hubLabels), selects(service.spec.selector, workerLabels)]).toEqual([true, false]);
    expect([selects(hubPdb.spec.selector.matchLabels, hubLabels), selects(hubPdb.spec.selector.matchLabels, workerLabels)]).toEqual([true, false]);
    expect([selects(workerPdb.spec.selector.matchLabels, workerLabels), selects(workerPdb.spec.selector.matchLabels, hubLabels)]).toEqual([true, false]);
    expect(find(app, 'HorizontalPodAutoscaler', 'inbox-hub').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'inbox-hub' });
    // The HPA owns the hub's replica count; the PDB still leaves pods to serve at minReplicas.
    expect(hub.spec.replicas).toBeUndefined();
    expect(find(app, 'HorizontalPodAutoscaler', 'inbox-hub').spec.minReplicas).toBeGreaterThan(hubPdb.spec.maxUnavailable);
  });

  it("timings fit the code's: grace covers preStop + the shutdown deadline; readiness waits out /readyz's own deadline", () => {
    const deadlineS = sourceConstant('src/shutdown.ts', 'DEADLINE_MS') / 1000;
    const readyzDeadlineS = sourceConstant('src/http/routes/health.ts', 'PING_TIMEOUT_MS') / 1000;
    const preStop = hubContainer.lifecycle.preStop.exec.command;
    expect(preStop[0]).toBe('sleep');
    const preStopS = Number(preStop[1]);
    expect(preStopS).toBeGreaterThanOrEqual(5);
    expect(hub.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStopS + deadlineS + 5);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(deadlineS + 5);
    expect(hubContainer.readinessProbe.timeoutSeconds).toBeGreaterThan(readyzDeadlineS);
    // A rollout never lowers capacity: the new pod is ready before an old one stops.
    expect(hub.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  });

  it('the image runs as the node user the Dockerfile sets, and exports are shared (written by workers, read by hubs)', () => {
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
    for (const d of [hub, worker, job]) expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const mount = (c: any) => c.volumeMounts.find((m: { mountPath: string }) => m.mountPath === configMap.data.EXPORT_DIR);
    expect(mount(hubContainer)).toEqual({ name: 'exports', mountPath: '/app/data/exports', readOnly: true });
    expect(mount(workerContainer)).toEqual({ name: 'exports', mountPath: '/app/data/exports' });
    expect(find(app, 'PersistentVolumeClaim', 'inbox-exports').spec.accessModes).toEqual(['ReadWriteMany']);
  });
});

describe('the probe paths and timeouts against a hub running with the ConfigMap', () => {
  let hubApp: RunningApp;
  const token = 'metrics-token-0123456789';
  beforeAll(async () => {
    // The ConfigMap's settings, but this run's servers, prefix and a test-mode cookie.
    const local = new Set(['NODE_ENV', 'HOST', 'PORT', 'REDIS_PREFIX', 'EXPORT_DIR']);
    const settings = Object.fromEntries(Object.entries(configMap.data as Record<string, string>).filter(([k]) => !local.has(k)));
    hubApp = await startApp({ ...settings, METRICS_TOKEN: token });
  });
  afterAll(() => hubApp?.close());

  it('liveness, readiness and the scrape path answer as the manifests expect', async () => {
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${hubApp.url}${path}`, { headers }).then((r) => r.status);
    expect(await get(hubContainer.livenessProbe.httpGet.path)).toBe(200);
    expect(await get(hubContainer.startupProbe.httpGet.path)).toBe(200);
    expect(await get(hubContainer.readinessProbe.httpGet.path)).toBe(200);
    expect(hubContainer.readinessProbe.httpGet.path).toBe('/readyz');
    expect(hubContainer.livenessProbe.httpGet.path).toBe('/healthz');
    const scrape = find(monitoring, 'ServiceMonitor', 'inbox-hub').spec.endpoints[0].path;
    expect(await get(scrape)).toBe(401);
    expect(await get(scrape, { authorization: `Bearer ${token}` })).toBe(200);
  });

  it("the Ingress keeps an idle Socket.IO connection longer than the hub's ping interval + timeout", () => {
    const { pingInterval, pingTimeout } = (hubApp.app.io.engine as unknown as { opts: { pingInterval: number; pingTimeout: number } }).opts;
    const annotations = find(app, 'Ingress', 'inbox-hub').metadata.annotations as Record<string, string>;
    for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${key}`]) * 1000).toBeGreaterThan(pingInterval + pingTimeout);
    }
    expect(annotations['nginx.ingress.kubernetes.io/affinity']).toBe('cookie');
  });
});

