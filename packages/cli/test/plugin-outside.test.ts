// A plugin installed outside the repository, with its own copy of tfjs-core in its node_modules
// (what npm does with a peer dependency): regimes loads it against its own tfjs-core and
// @regimes/core (core's loader hooks), so one engine runs it and no platform warning is printed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(root, 'packages/cli/bin/regimes.js');
const WARNING = 'Platform node has already been set';

/** A plugin folder outside the repo: its own tfjs-core copy, and no @regimes/core installed. */
function outsidePlugin(): string {
  const dir = mkdtempSync(join(tmpdir(), 'regimes-outside-'));
  const copy = join(dir, 'plugin/node_modules/@tensorflow/tfjs-core');
  const host = join(root, 'node_modules/@tensorflow/tfjs-core');
  mkdirSync(join(copy, 'dist'), { recursive: true });
  copyFileSync(join(host, 'package.json'), join(copy, 'package.json'));
  copyFileSync(join(host, 'dist/tf-core.node.js'), join(copy, 'dist/tf-core.node.js'));
  for (const dep of ['seedrandom', 'node-fetch'])
    symlinkSync(join(root, 'node_modules', dep), join(dir, 'plugin/node_modules', dep));
  writeFileSync(
    join(dir, 'plugin/package.json'),
    JSON.stringify({ name: 'outside-plugin', version: '1.0.0', type: 'module', main: 'index.js' }),
  );
  // a learner that predicts the training mean, with tensors of the plugin's tfjs-core import
  writeFileSync(
    join(dir, 'plugin/index.js'),
    `import * as tf from '@tensorflow/tfjs-core';
import { ContainerModule, LearnerFactory, z } from '@regimes/core';
const mean = {
  kind: 'outside-mean',
  description: 'predicts the mean of the training labels',
  options: z.strictObject({}),
  create: () => ({
    async fit(train) {
      const m = tf.mean(train.y, 0, true);
      return { predict: (x) => tf.tidy(() => tf.tile(m, [x.shape[0], 1])), dispose: () => m.dispose() };
    },
  }),
};
export default {
  name: 'outside-plugin', version: '1.0.0', core: '^0.1.0',
  module: new ContainerModule(({ bind }) => { bind(LearnerFactory).toConstantValue(mean); }),
};
`,
  );
  writeFileSync(
    join(dir, 'spec.yaml'),
    `name: outside
plugins: [./plugin]
target: { kind: hermite, d: 4, degree: 1 }
learners: [{ kind: outside-mean }]
metrics: [risk]
sweep: { n: [32] }
test: { n: 256 }
`,
  );
  return dir;
}

describe('a plugin outside the repository', () => {
  it('runs on the host tfjs-core and @regimes/core, without the platform warning', () => {
    const dir = outsidePlugin();
    // control: the copy is a second tfjs-core, which warns when loaded beside the host's
    const script = `await import('@tensorflow/tfjs-core'); await import(${JSON.stringify(
      pathToFileURL(join(dir, 'plugin/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js')).href,
    )});`;
    const control = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(control.stderr + control.stdout).toContain(WARNING);

    const out = join(dir, 'out');
    const r = spawnSync(process.execPath, [bin, 'run', join(dir, 'spec.yaml'), '-o', out, '-q'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, REGIMES_BACKEND: '' },
    });
    expect(r.stderr).not.toContain(WARNING);
    expect(r.status, r.stderr).toBe(0);
    const rows = readFileSync(join(out, 'results.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(1);
    // the mean predictor's risk on a unit-variance linear target is about E f*² = 1
    expect(rows[0].status).toBe('ok');
    expect(Math.abs(rows[0].metrics.risk - 1)).toBeLessThan(0.3);
  });
});
