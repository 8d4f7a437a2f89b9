/**
 * The web server of `regimes serve`: the page and its bundled scripts (dist/web, built by
 * scripts/build-web.mjs: nothing is fetched from elsewhere), a JSON API over the runs under the
 * served folder, their files (only those under it), and the live feed as server-sent events.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry, ResultRow } from '@regimes/core';
import type { BandKind, PlotOptions } from '../plot/data.js';
import { Feed } from './feed.js';
import { resolveUnder } from './paths.js';
import { figureView, findRuns, runRows, runView } from './runs.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};
const RESULTS_FILE = /^results(\.shard-\d+-of-\d+)?\.jsonl$/;
const BANDS: readonly BandKind[] = ['std', 'sem', 'minmax', 'se', 'none'];

export interface ServeOptions {
  /** The folder whose runs are shown; nothing outside it is served. */
  dir: string;
  host?: string;
  /** 0: any free port. */
  port?: number;
  registry: Registry;
  /** The page's built files (default: dist/web of this package). */
  webDir?: string;
  warn?: (m: string) => void;
}

export interface Serving {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** dist/web beside this module's dist/serve (or, run from sources, the built one). */
function defaultWebDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const built = join(here, '..', 'web');
  return existsSync(join(built, 'index.html')) ? built : join(here, '..', '..', 'dist', 'web');
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function serve(options: ServeOptions): Promise<Serving> {
  const root = options.dir;
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new Error(`${root} is not a folder: give the folder that holds your runs (e.g. runs/)`);
  const webDir = options.webDir ?? defaultWebDir();
  if (!existsSync(join(webDir, 'page.js')))
    throw new Error(`the page's bundle is missing in ${webDir}: build it with \`npm run build\``);
  const assets = new Set(readdirSync(webDir));
  const feed = new Feed(root, 120, options.warn);
  feed.start(findRuns(root).map((r) => r.id));
  const clients = new Set<ServerResponse>();

  const resultsFile = (id: string | null): string => {
    if (!id) throw new HttpError(400, 'give the run: ?run=<results file below the served folder>');
    const found = resolveUnder(root, id.split('/').map(encodeURIComponent).join('/'));
    if ('refused' in found) throw new HttpError(found.status, `${id}: ${found.refused}`);
    if (!RESULTS_FILE.test(basename(found.path)) || !statSync(found.path).isFile())
      throw new HttpError(
        400,
        `${id} is not a results file (results.jsonl or results.shard-<i>-of-<N>.jsonl)`,
      );
    return found.path;
  };

  const figureOptions = (q: URLSearchParams): PlotOptions => {
    const band = (q.get('band') ?? 'std') as BandKind;
    if (!BANDS.includes(band)) throw new HttpError(400, `band ${band}: one of ${BANDS.join(', ')}`);
    const curves = q.get('curves') === '1';
    return {
      x: curves ? 'step' : q.get('x') || 'n',
      y: q.get('y') || undefined,
      by: q.get('by') || 'learner',
      facet: q.get('facet') || undefined,
      theory: q.get('theory') !== '0',
      curves,
      band,
      points: q.get('points') === '1',
      linear: q.get('linear') === '1',
    };
  };

  const api = (path: string, q: URLSearchParams): unknown => {
    if (path === '/api/runs') {
      // the served folder removed while served: said, not a raw ENOENT
      if (!existsSync(root))
        throw new HttpError(
          410,
          `the served folder ${root} no longer exists: restart regimes serve on it once it does`,
        );
      return { root, runs: findRuns(root) };
    }
    if (path === '/api/run') {
      const id = q.get('run');
      return runView(id!, resultsFile(id), options.registry);
    }
    if (path === '/api/figure') {
      const ids = q.getAll('run');
      if (!ids.length) throw new HttpError(400, 'give one or more runs: ?run=a&run=b');
      const runs: { id: string; rows: ResultRow[] }[] = [];
      const warnings: string[] = [];
      for (const id of ids) {
        const loaded = runRows(resultsFile(id));
        warnings.push(...loaded.warnings);
        runs.push({ id, rows: loaded.rows });
      }
      if (!runs.some((r) => r.rows.length)) return { spec: null, notes: [], warnings, used: 0 };
      try {
        const view = figureView(runs, figureOptions(q), options.registry);
        return { ...view, warnings: [...warnings, ...view.warnings] };
      } catch (error) {
        if (error instanceof HttpError) throw error;
        return { spec: null, notes: [], warnings: [...warnings, (error as Error).message], used: 0 };
      }
    }
    throw new HttpError(404, `no such API: ${path}`);
  };

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // the raw path, before URL parsing normalises `..` and `%2e%2e` away: refused here as sent
    const raw = (req.url ?? '/').split('?')[0]!;
    const url = new URL(req.url ?? '/', 'http://page');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only');
    if (raw === '/' || raw === '/index.html')
      return send(res, 200, TYPES['.html']!, readFileSync(join(webDir, 'index.html')));
    if (raw.startsWith('/assets/')) {
      const name = raw.slice('/assets/'.length);
      if (!assets.has(name)) return send(res, 404, 'text/plain', 'no such asset');
      return send(
        res,
        200,
        TYPES[extname(name)] ?? 'application/octet-stream',
        readFileSync(join(webDir, name)),
      );
    }
    if (raw === '/favicon.ico') return send(res, 204, 'text/plain', '');
    if (raw === '/api/events') return events(res);
    if (raw.startsWith('/api/'))
      return send(res, 200, TYPES['.json']!, JSON.stringify(api(url.pathname, url.searchParams)));
    if (raw.startsWith('/files/')) {
      const found = resolveUnder(root, raw.slice('/files/'.length));
      if ('refused' in found) throw new HttpError(found.status, `${found.refused}: refused`);
      if (!statSync(found.path).isFile()) throw new HttpError(404, 'not a file');
      return send(
        res,
        200,
        TYPES[extname(found.path)] ?? 'application/octet-stream',
        readFileSync(found.path),
      );
    }
    throw new HttpError(404, 'not found');
  };

  const events = (res: ServerResponse) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(': regimes serve\n\n');
    clients.add(res);
    const unsubscribe = feed.subscribe((e) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
    res.on('close', () => {
      unsubscribe();
      clients.delete(res);
    });
  };

  // bound to this machine only, a request must name it: a page elsewhere whose name resolves here
  // (DNS rebinding) sends its own Host, and reads nothing
  const bound = options.host ?? '127.0.0.1';
  const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(bound);
  const allowedHost = (header: string | undefined) => {
    if (!loopback) return true;
    const name = (header ?? '')
      .replace(/:\d+$/, '')
      .replace(/^\[(.*)\]$/, '$1')
      .toLowerCase();
    return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
  };
  const server = createServer((req, res) => {
    if (!allowedHost(req.headers.host)) {
      send(res, 403, 'text/plain; charset=utf-8', `host '${req.headers.host ?? ''}' is not this machine`);
      return;
    }
    try {
      handle(req, res);
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      if (!res.headersSent) send(res, status, 'text/plain; charset=utf-8', (error as Error).message);
      else res.end();
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      feed.close();
      fail(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${options.port} is in use: give another --port, or --port 0 for any free one`)
          : error,
      );
    });
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    server,
    close: async () => {
      feed.close();
      for (const c of clients) c.end();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
