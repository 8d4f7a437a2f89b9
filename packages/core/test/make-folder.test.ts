// makeFolder when another process creates the folder between its check and its mkdir: two
// `--shard` runs started at once into one new folder (the bench's shard halves hit this). The race
// is made certain by a check that still says "absent" for a folder that already exists.
import type * as nodeFs from 'node:fs';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const late = new Set<string>();
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof nodeFs>();
  return { ...fs, existsSync: (path: string) => !late.has(path) && fs.existsSync(path) };
});

const { makeFolder } = await import('../src/engine/results.js');

describe('makeFolder', () => {
  it('takes a folder that appeared after its check as it is', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'regimes-folder-')), 'out', 'shards');
    mkdirSync(dir, { recursive: true });
    late.add(dir);
    late.add(join(dir, '..'));
    expect(() => makeFolder(dir)).not.toThrow();
  });

  it('still fails where a file stands in the way', () => {
    const root = mkdtempSync(join(tmpdir(), 'regimes-folder-'));
    const file = join(root, 'taken');
    writeFileSync(file, '');
    late.add(file);
    expect(() => makeFolder(file)).toThrow(/EEXIST/);
  });
});
