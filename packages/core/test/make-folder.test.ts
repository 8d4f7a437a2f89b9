// makeFolder creates without looking first, so that a folder another process made meanwhile (two
// `--shard` runs started at once into one new folder) is the same case as one that was there.
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFolder } from '../src/engine/results.js';

describe('makeFolder', () => {
  it('makes the missing parents, and takes a folder that is there as it is', () => {
    const root = mkdtempSync(join(tmpdir(), 'regimes-folder-'));
    const dir = join(root, 'a', 'b', 'c');
    makeFolder(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    makeFolder(dir);
    mkdirSync(join(root, 'made'));
    expect(() => makeFolder(join(root, 'made'))).not.toThrow();
  });

  it('fails where a file stands in the way, and under /proc at once', () => {
    const root = mkdtempSync(join(tmpdir(), 'regimes-folder-'));
    writeFileSync(join(root, 'taken'), '');
    expect(() => makeFolder(join(root, 'taken'))).toThrow(/EEXIST/);
    expect(() => makeFolder(join(root, 'taken', 'below'))).toThrow(/ENOTDIR/);
    if (process.platform === 'linux') expect(() => makeFolder('/proc/regimes-no-such/out')).toThrow(/ENOENT/);
  });
});
