import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticSiteOptions {
  /** The built page; defaults to `dist/public` of this package (`npm run build:web` writes it). */
  root?: string;
}

/**
 * The demo inbox page at `/`. An unbuilt page is not worth refusing to boot for (the hub's
 * API works without it), so it is logged and `/` answers the usual 404.
 */
export default fp<StaticSiteOptions>(
  async (app, { root = join(packageRoot(), 'dist', 'public') }) => {
    if (!existsSync(join(root, 'index.html'))) {
      app.log.warn({ root }, 'demo page not built (npm run build:web); / answers 404');
      return;
    }
    // No wildcard route: only the bundle's own files are served, so no catch-all GET can
    // shadow an API route or turn an unknown /api path into a file lookup.
    await app.register(fastifyStatic, { root, prefix: '/', wildcard: false, index: 'index.html' });
  },
  { name: 'static-site' },
);

/** The source (`src/http/plugins`) and the build (`dist/src/http/plugins`) sit at different depths. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('static-site: no package.json above the plugin');
    dir = parent;
  }
  return dir;
}
