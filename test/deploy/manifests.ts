import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const K8S_DIR = join(ROOT, 'deploy', 'kubernetes');

/** A manifest as parsed from YAML: loose on purpose, the schemas say what is valid. */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };

export interface Loaded {
  /** Path under deploy/kubernetes, for messages. */
  file: string;
  manifest: Manifest;
}

/**
 * The kinds the manifests use, by apiVersion, each with the kubernetes-models class that
 * validates an object against the Kubernetes OpenAPI schema (one module per kind: importing a
 * whole API group loads every kind's validator).
 */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service },
  'apps/v1': { Deployment },
  'batch/v1': { Job },
  'policy/v1': { PodDisruptionBudget },
  'autoscaling/v2': { HorizontalPodAutoscaler },
  'networking.k8s.io/v1': { Ingress },
  'monitoring.coreos.com/v1': { ServiceMonitor },
};

/** The same groups' TypeScript declarations (each kind's `I<Kind>` interface, one file per kind). */
const TYPE_MODULES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

/**
 * Fields the API does not define (a misspelt `readinesProbe`, a key indented one level off).
 * The JSON schemas allow unknown fields, as the API server does unless asked to be strict, so
 * each manifest is type-checked as an object literal against kubernetes-models' interfaces:
 * TypeScript's excess-property check names every unknown field. One line per problem.
 */
export async function unknownFields(all: Loaded[]): Promise<string[]> {
  const file = join(ROOT, 'test', 'deploy', '__manifests_typecheck__.ts');
  const lines: string[] = [];
  const owners: { from: number; label: string }[] = [];
  all.forEach(({ manifest }, i) => {
    const mod = TYPE_MODULES[manifest.apiVersion];
    if (!mod) throw new Error(`no types for ${manifest.apiVersion}`);
    lines.push(`import type { I${manifest.kind} as T${i} } from '${mod}/${manifest.kind}';`);
  });
  all.forEach(({ file: f, manifest }, i) => {
    owners.push({ from: lines.length, label: `${f} ${manifest.kind}/${manifest.metadata.name}` });
    lines.push(...`export const m${i}: T${i} = ${JSON.stringify(manifest, null, 2)};`.split('\n'));
  });
  const source = lines.join('\n');
  const diagnostics = await typecheckInWorker(file, source);
  return diagnostics.map(({ line, message }) => {
    const owner = [...owners].reverse().find((o) => o.from <= line);
    return `${owner?.label ?? 'imports'}: ${message}`;
  });
}

/**
 * The compiler runs in a worker thread: a program over these declarations takes seconds of CPU,
 * which on the test's own thread would stall vitest's messages to its workers.
 */
function typecheckInWorker(file: string, source: string): Promise<{ line: number; message: string }[]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const ts = require('module').createRequire(workerData.root + '/package.json')('typescript');
    const { file, source } = workerData;
    const options = {
      strict: true, noEmit: true, skipLibCheck: true, types: [], lib: ['lib.es5.d.ts'],
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (name, language, ...rest) =>
      name === file ? ts.createSourceFile(name, source, language) : getSourceFile.call(host, name, language, ...rest);
    host.fileExists = (name) => name === file || fileExists.call(host, name);
    host.readFile = (name) => (name === file ? source : readFile.call(host, name));
    const program = ts.createProgram([file], options, host);
    parentPort.postMessage(ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => ({
      line: d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1,
      message: ts.flattenDiagnosticMessageText(d.messageText, ' '),
    })));
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { root: ROOT, file, source } });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`typecheck worker exited with ${code}`)));
  });
}

/** Throws (naming the file and the schema's complaint) unless `manifest` is valid for its apiVersion and kind. */
export function validateManifest({ file, manifest }: Loaded): void {
  const Model = MODELS[manifest.apiVersion]?.[manifest.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (!Model) throw new Error(`${file}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
  try {
    new Model(manifest).validate();
  } catch (err) {
    throw new Error(`${file}: ${manifest.kind}/${manifest.metadata?.name}: ${(err as Error).message}`);
  }
}

export function readYaml(path: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  return docs.map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Manifest;
  });
}

/** Every .yaml file under deploy/kubernetes, relative to it. */
export function yamlFiles(dir = K8S_DIR): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [relative(K8S_DIR, path)] : [];
  });
}

interface Kustomization {
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

/**
 * What `kubectl kustomize <dir>` renders, for the fields these kustomizations use: their
 * resource files, the namespace set on namespaced objects, and the image rewrite.
 */
export function renderKustomization(dir: string): Loaded[] {
  const root = join(K8S_DIR, dir);
  const [k] = readYaml(join(root, 'kustomization.yaml')) as unknown as Kustomization[];
  return (k!.resources ?? []).flatMap((res) =>
    readYaml(join(root, res)).map((manifest) => {
      if (k!.namespace && manifest.kind !== 'Namespace') manifest.metadata.namespace = k!.namespace;
      for (const c of containersOf(manifest)) c.image = rewriteImage(c.image, k!.images ?? []);
      return { file: join(dir, res), manifest };
    }),
  );
}

function rewriteImage(image: string, rules: NonNullable<Kustomization['images']>): string {
  const rule = rules.find((r) => r.name === image);
  if (!rule) return image;
  return `${rule.newName ?? image}${rule.newTag ? `:${rule.newTag}` : ''}`;
}

/** The containers of a Deployment or a Job (their pod templates). */
export function containersOf(manifest: Manifest): any[] {
  return manifest.spec?.template?.spec?.containers ?? [];
}

export function find(all: Loaded[], kind: string, name: string): Manifest {
  const hit = all.find((l) => l.manifest.kind === kind && l.manifest.metadata.name === name);
  if (!hit) throw new Error(`no ${kind}/${name} in ${all.map((l) => `${l.manifest.kind}/${l.manifest.metadata.name}`).join(', ')}`);
  return hit.manifest;
}

/**
 * The variable names src/config.ts's schema reads: the keys of its `envSchema` object,
 * taken from the source so the manifests are checked against the code, not a copy of it.
 */
export function configSchemaKeys(): string[] {
  const source = readFileSync(join(ROOT, 'src', 'config.ts'), 'utf8');
  const body = /const envSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source)?.[1];
  if (!body) throw new Error('src/config.ts: envSchema = z.object({...}) not found');
  return [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
}

/** A numeric `const NAME = 10_000;` from a source file, so timings are compared with the code's. */
export function sourceConstant(file: string, name: string): number {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const raw = new RegExp(`const ${name} = ([0-9_]+);`).exec(source)?.[1];
  if (!raw) throw new Error(`${file}: const ${name} = <number>; not found`);
  return Number(raw.replaceAll('_', ''));
}
