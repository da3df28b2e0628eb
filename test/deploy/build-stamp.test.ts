import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/** `npm start` and `npm run worker` run the build as it is; their prestart check refuses a missing or stale one. */
const SCRIPT = resolve(import.meta.dirname, '..', '..', 'scripts', 'build-stamp.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'build-stamp-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'src', 'domain'), { recursive: true });
  writeFileSync(join(dir, 'src', 'domain', 'messages.ts'), '');
  return dir;
}

const stamp = (cwd: string, command: string) =>
  new Promise<{ code: number; stderr: string }>((done) => {
    execFile(process.execPath, [SCRIPT, command], { cwd }, (err, _stdout, stderr) => done({ code: err ? (err.code as number) : 0, stderr }));
  });

describe('the build stamp', () => {
  it('refuses to start without a complete build, in one line', async () => {
    const dir = tree();
    expect(await stamp(dir, 'check')).toEqual({ code: 1, stderr: 'dist/ holds no complete build: run `npm run build` first\n' });
    // A build that began and never ended (tsc failed) is no build either.
    expect((await stamp(dir, 'begin')).code).toBe(0);
    expect((await stamp(dir, 'check')).code).toBe(1);
  });

  it('accepts a build newer than every source, and names the source changed since', async () => {
    const dir = tree();
    const source = join(dir, 'src', 'domain', 'messages.ts');
    const past = new Date(Date.now() - 60_000);
    utimesSync(source, past, past);
    expect((await stamp(dir, 'begin')).code).toBe(0);
    expect((await stamp(dir, 'end')).code).toBe(0);
    expect(await stamp(dir, 'check')).toEqual({ code: 0, stderr: '' });
    const later = new Date(Date.now() + 60_000);
    utimesSync(source, later, later);
    expect(await stamp(dir, 'check')).toEqual({
      code: 1,
      stderr: `dist/ is older than the sources (${join('src', 'domain', 'messages.ts')} changed after the last build): run \`npm run build\`\n`,
    });
  });
});
