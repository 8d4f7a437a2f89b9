// The results file's fsync in the background (ResultsWriter): each row is in the file when append
// returns, the fsyncs run one at a time off the run's thread, a run ends after the last one, and a
// failed fsync is an error that says so.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Registry } from '../src/registry/registry.js';
import { ResultsWriter, type ResultRow } from '../src/engine/results.js';
import { runExperiment } from '../src/engine/runner.js';
import { RegimesError } from '../src/contracts/errors.js';
import { silentLogger } from '../src/testing/index.js';
import { testPlugin } from './helpers.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'regimes-sync-'));

/** What the fsyncs did: started and ended, and a failure to inject. */
const fsyncs = { started: 0, ended: 0, fail: undefined as NodeJS.ErrnoException | undefined };

// Every FileHandle's sync, watched through their shared prototype (core's test files share a
// process, isolate: false, so a module mock would not reach a results.ts another file loaded).
beforeAll(async () => {
  const probe = await open(join(tmp(), 'probe'), 'a');
  const prototype = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const sync = prototype.sync;
  vi.spyOn(prototype, 'sync').mockImplementation(async function (this: FileHandle) {
    fsyncs.started++;
    // a slow disk: rows appended meanwhile wait for the next fsync
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (fsyncs.fail) throw fsyncs.fail;
    await sync.call(this);
    fsyncs.ended++;
  });
});
afterAll(() => vi.restoreAllMocks());
afterEach(() => {
  fsyncs.started = fsyncs.ended = 0;
  fsyncs.fail = undefined;
});

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);
const row = (i: number) =>
  ({
    key: `n=${i}|a`,
    cellKey: `n=${i}`,
    status: 'ok',
    finishedAt: 't',
    learner: { id: 'a', kind: 'ridge' },
  }) as unknown as ResultRow;

describe('ResultsWriter', () => {
  it('has each row in the file when append returns; one fsync at a time, the last after the last row', async () => {
    const out = join(tmp(), 'results.jsonl');
    const writer = new ResultsWriter(out);
    for (let i = 0; i < 3; i++) {
      writer.append(row(i));
      expect(lines(out)).toHaveLength(i + 1);
    }
    // row 0 started an fsync; rows 1 and 2, appended while it opened the file, are covered by a second
    await writer.settle();
    expect(fsyncs).toMatchObject({ started: 2, ended: 2 });
    writer.append(row(3));
    await writer.settle();
    expect(fsyncs).toMatchObject({ started: 3, ended: 3 });
    expect(lines(out).map((l) => JSON.parse(l).key)).toEqual(['n=0|a', 'n=1|a', 'n=2|a', 'n=3|a']);
  });

  // bad-input: 1
  it('says when an fsync failed, at settle and at the next append', async () => {
    const out = join(tmp(), 'results.jsonl');
    const writer = new ResultsWriter(out);
    fsyncs.fail = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    writer.append(row(0));
    const failure = await writer.settle().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RegimesError);
    expect(String(failure)).toMatch(/cannot flush the results file .*results\.jsonl to disk: EIO/);
    expect(() => writer.append(row(1))).toThrow(/cannot flush the results file/);
    // the row written before the failure stays
    expect(lines(out)).toHaveLength(1);
  });

  // bad-input: 1
  it.skipIf(!existsSync('/dev/full'))('names the file and the fix when the disk is full (/dev/full)', () => {
    const writer = new ResultsWriter('/dev/full');
    expect(() => writer.append(row(0))).toThrow(
      new RegimesError('cannot append a row to /dev/full: ENOSPC: no space left on device', {
        hint: 'free space on that disk, then run the same command: it resumes, and the rows already written stand (a line this cut short is named and its fit rerun)',
      }),
    );
  });
});

describe('a run', () => {
  it('returns after its rows are on disk', async () => {
    const out = join(tmp(), 'results.jsonl');
    const result = await runExperiment(
      {
        name: 'sync-test',
        backend: 'cpu',
        target: { kind: 'linear', d: 3, noise: 0.5 },
        learners: [{ kind: 'ridge' }],
        metrics: ['mse'],
        sweep: { n: [8, 16, 32] },
        test: { n: 64 },
      },
      { registry: Registry.with(testPlugin), log: silentLogger, out },
    );
    expect(result.ran).toBe(3);
    expect(fsyncs.started).toBeGreaterThanOrEqual(1);
    expect(fsyncs.ended).toBe(fsyncs.started);
  });
});
