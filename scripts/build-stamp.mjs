// The build's stamp, so `npm start` and `npm run worker` run a build that matches the sources
// instead of compiling on every start (a pod restart must not cost a full tsc).
//   node scripts/build-stamp.mjs begin   first step of `npm run build`: drops the old stamp
//   node scripts/build-stamp.mjs end     last step: the build is complete, as of when it began
//   node scripts/build-stamp.mjs check   prestart/preworker: one line and exit 1 unless dist/
//                                        holds a complete build newer than every source file
// Paths are relative to the working directory (npm runs scripts from the package root).
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const STAMP = join('dist', '.build-stamp');
const PENDING = `${STAMP}.pending`;
/** What `npm run build` compiles or bundles; a file here changed after the build began makes dist/ stale. */
const SOURCES = ['src', 'workers', 'web', 'client/src', 'tsconfig.json', 'tsconfig.build.json'];

/** The most recently modified source file, by mtime (a few hundred stats: milliseconds). */
function newestSource() {
  let newest = { path: null, mtimeMs: 0 };
  const visit = (path) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) if (entry !== 'node_modules' && entry !== 'dist') visit(join(path, entry));
    } else if (stat.mtimeMs > newest.mtimeMs) newest = { path, mtimeMs: stat.mtimeMs };
  };
  for (const source of SOURCES) visit(source);
  return newest;
}

function fail(line) {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

const command = process.argv[2];
if (command === 'begin') {
  mkdirSync('dist', { recursive: true });
  rmSync(STAMP, { force: true });
  writeFileSync(PENDING, `${Date.now()}\n`);
} else if (command === 'end') {
  if (!existsSync(PENDING)) fail('build-stamp: no build was begun (run npm run build)');
  renameSync(PENDING, STAMP);
} else if (command === 'check') {
  if (!existsSync(STAMP)) fail('dist/ holds no complete build: run `npm run build` first');
  const builtAt = Number(readFileSync(STAMP, 'utf8'));
  const newest = newestSource();
  if (newest.mtimeMs > builtAt) fail(`dist/ is older than the sources (${relative('.', newest.path)} changed after the last build): run \`npm run build\``);
} else {
  fail('usage: node scripts/build-stamp.mjs begin|end|check');
}
