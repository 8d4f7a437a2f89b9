// The conformance suites name the rule a plugin broke. A child vitest runs the suites on plugins
// that each break one rule (test/fixtures/broken-plugins) and on sound ones; every failure must
// carry `[rule <id>]` of the broken rule, and the sound ones must pass.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const config = fileURLToPath(new URL('./fixtures/broken-plugins/vitest.config.ts', import.meta.url));

interface Result {
  status: string;
  fullName: string;
  failureMessages: string[];
}

describe('conformance failures name the broken rule', () => {
  it('leak, output shape, abort, manifest fields, core range, no backend', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'regimes-rules-')), 'report.json');
    spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--config',
        config,
        '--reporter=json',
        `--outputFile=${out}`,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    const report = JSON.parse(readFileSync(out, 'utf8')) as { testResults: { assertionResults: Result[] }[] };
    const results = report.testResults.flatMap((f) => f.assertionResults);
    const failed = (suite: string) =>
      results.filter((r) => r.fullName.includes(`: ${suite} `) && r.status === 'failed');
    const rulesOf = (suite: string) =>
      failed(suite).map((r) => /\[rule ([a-z/-]+)\]/.exec(r.failureMessages.join('\n'))?.[1]);

    expect(rulesOf('leaky')).toEqual(['learner/no-leak']);
    expect(rulesOf('wrong-shape')).toEqual(['learner/output-shape']);
    expect(rulesOf('no-abort')).toEqual(['learner/abort']);
    expect(rulesOf('no-core')).toEqual(['manifest/fields', 'manifest/core-range']);
    expect(rulesOf('old-core')).toEqual(['manifest/core-range']);
    // without a backend every check fails with the setup rule, which says what to add
    const noBackend = failed('without-backend');
    expect(noBackend.length).toBe(5);
    for (const r of noBackend) {
      expect(r.failureMessages.join('\n')).toContain('[rule setup/backend]');
      expect(r.failureMessages.join('\n')).toContain('tf.setBackend("cpu")');
    }
    // the sound learner and plugin pass every check
    for (const suite of ['sound', 'sound-plugin']) {
      const mine = results.filter((r) => r.fullName.includes(`: ${suite} `));
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((r) => r.status === 'passed')).toBe(true);
    }
  });
});
