/**
 * `regimes serve`'s server without a browser: only files under the served folder go out (`../`,
 * percent-encoded and symlinked escapes are refused), a malformed results line is skipped and
 * reported (in the run's view and on the live feed) and never crashes the server, and the feed
 * pushes appended rows as server-sent events.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExperiment } from '@regimes/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../src/defaults.js';
import { serve, type Serving } from '../src/serve/server.js';

/** GET a raw path, exactly as written (fetch would normalise `..` away before sending). */
function get(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((ok, fail) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('regimes serve', () => {
  let top: string;
  let dir: string;
  let serving: Serving;
  let rowLines: string[];

  beforeAll(async () => {
    top = mkdtempSync(join(tmpdir(), 'regimes-serve-'));
    dir = join(top, 'runs');
    mkdirSync(join(dir, 'a'), { recursive: true });
    writeFileSync(join(top, 'secret.txt'), 'SECRET-CONTENT');
    writeFileSync(join(dir, 'a', 'note.txt'), 'inside');
    symlinkSync(top, join(dir, 'escape')); // a folder link leading out
    symlinkSync(join(top, 'secret.txt'), join(dir, 'a', 'secret-link.txt')); // a file link leading out
    // real rows: a tiny spec run on the cpu backend into a/results.jsonl
    await runExperiment(
      {
        name: 'serve-test',
        seed: 3,
        target: { kind: 'hermite', d: 4, degree: 2 },
        learners: [{ kind: 'rf', width: 16, ridge: 1e-3 }],
        metrics: ['risk'],
        sweep: { n: [16, 32], seed: [0] },
        test: { n: 64 },
      },
      {
        registry: createRegistry(),
        backend: 'cpu',
        out: join(dir, 'a', 'results.jsonl'),
        log: { debug() {}, info() {}, warn() {} },
      },
    );
    rowLines = readFileSync(join(dir, 'a', 'results.jsonl'), 'utf8')
      .trim()
      .split('\n');
    // b: the same rows with a malformed line between them
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'results.jsonl'), `${rowLines[0]}\n{"key": "cut short\n${rowLines[1]}\n`);
    serving = await serve({ dir, port: 0, registry: createRegistry() });
  });

  afterAll(async () => {
    await serving?.close();
    rmSync(top, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and lists the runs under the folder, not those behind a link leading out', async () => {
    expect(serving.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const { runs } = JSON.parse((await get(serving.url, '/api/runs')).body) as { runs: { id: string }[] };
    expect(runs.map((r) => r.id)).toEqual(['a/results.jsonl', 'b/results.jsonl']);
  });

  // bad-input: 6
  it('answers only requests that name this machine (a rebound DNS name reads nothing)', async () => {
    const port = new URL(serving.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`])
      expect((await get(serving.url, '/api/runs', { host })).status, host).toBe(200);
    const evil = await get(serving.url, '/api/runs', { host: `evil.example:${port}` });
    expect(evil).toEqual({ status: 403, body: `host 'evil.example:${port}' is not this machine` });
  });

  // bad-input: 6
  it.skipIf(process.platform === 'win32')(
    'lists no named pipe called results.jsonl, and stays answering (opening one would block it)',
    async () => {
      const other = join(top, 'with-pipe');
      mkdirSync(join(other, 'p'), { recursive: true });
      execFileSync('mkfifo', [join(other, 'p', 'results.jsonl')]);
      const s = await serve({ dir: other, port: 0, registry: createRegistry() });
      try {
        expect(JSON.parse((await get(s.url, '/api/runs')).body).runs).toEqual([]);
        expect((await get(s.url, '/api/run?run=p/results.jsonl')).status).toBe(400);
      } finally {
        await s.close();
      }
    },
  );

  it('serves files under the folder', async () => {
    expect(await get(serving.url, '/files/a/note.txt')).toEqual({ status: 200, body: 'inside' });
    expect((await get(serving.url, '/files/a/results.jsonl')).body.trim().split('\n')).toEqual(rowLines);
  });

  it.each([
    ['/files/../secret.txt', 403],
    ['/files/a/../../secret.txt', 403],
    ['/files/%2e%2e/secret.txt', 403],
    ['/files/%2E%2E%2Fsecret.txt', 403],
    ['/files/a/..%2f..%2fsecret.txt', 403],
    ['/files/%252e%252e/secret.txt', 404], // decoded once: a name '%2e%2e', which does not exist
    ['/files/escape/secret.txt', 403],
    ['/files/a/secret-link.txt', 403],
    ['/files/a%5c..%5c..%5csecret.txt', 400],
    ['/files/a/%00', 400],
    ['/files/%zz', 400],
    ['/api/run?run=../secret.txt', 403],
    ['/api/run?run=escape/secret.txt', 403],
    ['/api/run?run=%2e%2e/secret.txt', 403],
    ['/api/run?run=a/note.txt', 400],
    ['/assets/../package.json', 404],
  ])('refuses %s (%i)', async (path, status) => {
    const res = await get(serving.url, path);
    expect(res.status).toBe(status);
    expect(res.body).not.toContain('SECRET-CONTENT');
  });

  it('skips a malformed results line and reports it, with the run still shown', async () => {
    const view = JSON.parse((await get(serving.url, '/api/run?run=b/results.jsonl')).body) as {
      rows: number;
      warnings: string[];
      summary: { lines: string[][] };
    };
    expect(view.rows).toBe(2);
    expect(view.warnings.join('\n')).toMatch(/line 2/);
    expect(view.summary.lines).toHaveLength(2);
    const figure = JSON.parse(
      (await get(serving.url, '/api/figure?run=b/results.jsonl&run=a/results.jsonl')).body,
    ) as { spec: { data: { values: { series?: string }[] } }; used: number };
    // compare mode: both runs' rows, each run's learner its own series
    expect(figure.used).toBe(4);
    const series = new Set(figure.spec.data.values.map((v) => v.series).filter(Boolean));
    expect([...series].filter((s) => !/theory|constant|subspace/.test(s!)).sort()).toEqual(['a/rf', 'b/rf']);
  });

  it('pushes appended rows and skipped lines as server-sent events', async () => {
    const url = new URL(serving.url);
    const events: string[] = [];
    const req = request({ host: url.hostname, port: url.port, path: '/api/events' });
    const got = new Promise<void>((ok) => {
      req.on('response', (res) => {
        res.on('data', (d: Buffer) => {
          events.push(d.toString());
          if (events.join('').includes('not JSON')) ok();
        });
        // the stream is open: append a row and a malformed line to run a
        setTimeout(
          () => appendFileSync(join(dir, 'a', 'results.jsonl'), `${rowLines[0]}\nnot json at all\n`),
          50,
        );
      });
    });
    req.end();
    await got;
    req.destroy();
    const rows = events
      .join('')
      .split('\n\n')
      .filter((e) => e.startsWith('event: rows'))
      .map(
        (e) =>
          JSON.parse(e.split('\ndata: ')[1]!) as { run: string; rows: string[]; skipped: { line: number }[] },
      );
    const all = rows.filter((e) => e.run === 'a/results.jsonl');
    expect(all.flatMap((e) => e.rows)).toEqual([JSON.parse(rowLines[0]!).key]);
    expect(all.flatMap((e) => e.skipped.map((s) => s.line))).toEqual([rowLines.length + 2]);
    // and the server still answers
    expect((await get(serving.url, '/api/runs')).status).toBe(200);
  });

  it('reads a results file replaced whole (merge renames one over it) again from its start', async () => {
    const url = new URL(serving.url);
    let text = '';
    const req = request({ host: url.hostname, port: url.port, path: '/api/events' });
    const got = new Promise<void>((ok) => {
      req.on('response', (res) => {
        res.on('data', (d: Buffer) => {
          text += d.toString();
          if (/"run":"b\/results\.jsonl"[^\n]*"reset":true/.test(text)) ok();
        });
        // a longer file renamed over b's: the same size check alone read on from b's old offset
        setTimeout(() => {
          const fresh = join(dir, 'b', 'fresh.tmp');
          writeFileSync(fresh, `${[...rowLines, ...rowLines].join('\n')}\n`);
          renameSync(fresh, join(dir, 'b', 'results.jsonl'));
        }, 50);
      });
    });
    req.end();
    await got;
    req.destroy();
    const event = text
      .split('\n\n')
      .filter((e) => e.startsWith('event: rows') && e.includes('"reset":true'))
      .map((e) => JSON.parse(e.split('\ndata: ')[1]!) as { rows: string[] })[0]!;
    expect(event.rows).toHaveLength(2 * rowLines.length);
  });
});
