// scripts/count-bad-inputs.mjs: the count of bad inputs per class of issue 14 is computed from the
// test files, every class has cases, and no selector of an older test has gone stale.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM script without types
import { CLASSES, classify, testsOf } from '../scripts/count-bad-inputs.mjs';

interface Case {
  file: string;
  name: string;
  rows: number;
  tag?: number;
  class?: number;
}

describe('count-bad-inputs', () => {
  it('reads tests, their describe names, it.each and it.for rows and `// bad-input:` tags from a file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'regimes-count-')), 'x.test.ts');
    writeFileSync(
      file,
      [
        "import { describe, it } from 'vitest';",
        '// bad-input: 3',
        "describe('outer', () => {",
        "  it('plain', () => {});",
        '  // bad-input: 5',
        "  it.each([1, 2, 3])('each %s', () => {});",
        "  it.for([['a', 1], ['b', 2]] as const)('for %s', () => {});",
        "  describe('inner', () => {",
        "    it.each(table)('from a name', () => {});",
        "    it.skip('skipped', () => {});",
        '  });',
        '});',
        "it('untagged', () => { it('nested call in a body is no test of its own', () => {}); });",
      ].join('\n'),
    );
    expect((testsOf(file) as Case[]).map(({ name, rows, tag }) => [name, rows, tag])).toEqual([
      ['outer > plain', 1, 3],
      ['outer > each %s', 3, 5],
      ['outer > for %s', 2, 3],
      ['outer > inner > from a name', 1, 3],
      ['outer > inner > skipped', 1, 3],
      ['untagged', 1, undefined],
    ]);
  });

  it('finds cases in every class of the issue, and every selector still matches a test', () => {
    const { tests, stale } = classify() as { tests: Case[]; stale: unknown[] };
    expect(stale).toEqual([]);
    for (const cls of Object.keys(CLASSES as Record<string, string>).map(Number)) {
      const cases = tests.filter((t) => t.class === cls).reduce((a, t) => a + t.rows, 0);
      expect(cases, `class ${cls}`).toBeGreaterThan(0);
    }
    // this suite's own framing tests are counted through their tags
    expect(
      tests.filter((t) => t.file === 'packages/cli/test/integrity.test.ts' && t.class === 1).length,
    ).toBe(6);
  });
});
