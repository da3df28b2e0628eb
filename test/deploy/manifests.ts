import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
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
 * The API groups the manifests use, each with the kubernetes-models classes that validate
 * an object of that apiVersion against the Kubernetes OpenAPI schema.
 */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'batch/v1': batchV1,
  'policy/v1': policyV1,
  'autoscaling/v2': autoscalingV2,
  'networking.k8s.io/v1': networkingV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

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
