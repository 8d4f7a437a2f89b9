/**
 * `regimes plugin new NAME --kind learner|target|metric|backend`: a plugin package that builds and
 * passes its tests as written — its manifest, one kind, the conformance suites of that kind and of
 * the manifest with the tfjs backend set up, a spec that uses the kind, and a README.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { coreVersion, RegimesError } from '@regimes/core';
import { type Command, Option } from 'commander';
import { createRegistry } from '../defaults.js';

export const pluginKinds = ['learner', 'target', 'metric', 'backend'] as const;
export type PluginKind = (typeof pluginKinds)[number];

export interface NewPluginOptions {
  /** The npm package name (also the folder's name, without a scope). */
  readonly name: string;
  readonly kind: PluginKind;
  /** Where to write it (default: ./<name without scope>); must not exist or be empty. */
  readonly dir?: string;
  /**
   * Where to take @regimes/* from instead of the registry's `^version`, for a plugin developed
   * beside an unpublished regimes: a checkout (`file:` links to its packages/*), or a folder of the
   * tarballs that `npm run pack:tarballs` writes (`file:` paths to every regimes-*.tgz in it, so
   * that npm resolves the packages' dependencies on each other among them).
   */
  readonly regimes?: string;
  /** Whether a kind of that extension point is already registered (the built-ins): refused. */
  readonly taken?: (kind: string) => boolean;
}

const NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** The kind name a package name suggests: `regimes-plugin-my-net` → `my-net`. */
function kindName(name: string): string {
  const bare = name.replace(/^@[^/]+\//, '').replace(/^regimes-plugin-/, '');
  const kind = bare
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '');
  return kind || 'my-kind';
}

const camel = (kind: string) => kind.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Writes the package; returns the folder and the files written (relative to it). */
export function writePluginPackage(o: NewPluginOptions): { dir: string; files: string[] } {
  if (!NAME.test(o.name))
    throw new RegimesError(`'${o.name}' is not an npm package name`, {
      hint: 'use lower-case letters, digits and - (e.g. regimes-plugin-my-learner or @me/regimes-plugin-x)',
    });
  if (!pluginKinds.includes(o.kind))
    throw new RegimesError(`unknown plugin kind '${String(o.kind)}'`, {
      hint: `use one of ${pluginKinds.join(', ')}`,
    });
  const dir = resolve(o.dir ?? basename(o.name));
  if (existsSync(dir) && readdirSync(dir).length)
    throw new RegimesError(`${dir} exists and is not empty`, { hint: 'choose another name or --dir' });
  const kind = kindName(o.name);
  // checked before writing: its npm test would pass, and its own spec fail on the clash
  if (o.taken?.(kind))
    throw new RegimesError(
      `the package name '${o.name}' gives the ${o.kind} kind '${kind}', which is a built-in ${o.kind} of regimes`,
      { hint: `name the package after another kind, e.g. regimes-plugin-my-${kind}` },
    );
  const files = templates(o, kind, dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return { dir, files: Object.keys(files) };
}

/** The @regimes/* devDependencies: from the registry, a checkout or a folder of packed tarballs. */
function regimesDependencies(o: NewPluginOptions, dir: string): Record<string, string> {
  const needed = ['core', ...(o.kind === 'learner' || o.kind === 'metric' ? ['targets'] : []), 'cli'];
  if (!o.regimes) return Object.fromEntries(needed.map((p) => [`@regimes/${p}`, `^${coreVersion}`]));
  const from = resolve(o.regimes);
  const link = (path: string) => `file:${relative(dir, path) || '.'}`;
  if (existsSync(join(from, 'packages', 'core', 'package.json')))
    return Object.fromEntries(needed.map((p) => [`@regimes/${p}`, link(join(from, 'packages', p))]));
  const tarballs = [from, join(from, 'dist', 'tarballs')]
    .filter((folder) => existsSync(folder))
    .map((folder) => ({
      folder,
      files: readdirSync(folder).filter((f) => /^regimes-.+-\d[^/]*\.tgz$/.test(f)),
    }))
    .find(({ files }) => files.some((f) => f.startsWith('regimes-core-')));
  if (!tarballs)
    throw new RegimesError(
      `--regimes ${o.regimes} is neither a regimes checkout nor a folder of its tarballs`,
      {
        hint: 'pass the checkout (it has packages/core), or the folder where `npm run pack:tarballs` wrote regimes-*.tgz (dist/tarballs)',
      },
    );
  return Object.fromEntries(
    tarballs.files
      .sort()
      .map((f) => [
        `@regimes/${f.replace(/^regimes-/, '').replace(/-\d[^/]*\.tgz$/, '')}`,
        link(join(tarballs.folder, f)),
      ]),
  );
}

function templates(o: NewPluginOptions, kind: string, dir: string): Record<string, string> {
  const devDependencies: Record<string, string> = {
    ...regimesDependencies(o, dir),
    ...(o.kind === 'backend' ? {} : { '@tensorflow/tfjs-backend-cpu': '^4.22.0' }),
    '@tensorflow/tfjs-core': '^4.22.0',
    typescript: '^6.0.3',
    vitest: '^4.1.0',
  };
  const pkg = {
    name: o.name,
    version: '0.1.0',
    description: `A regimes plugin: the ${o.kind} kind '${kind}'.`,
    license: 'MIT',
    type: 'module',
    main: './dist/index.js',
    types: './dist/index.d.ts',
    exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
    files: ['dist', 'README.md'],
    keywords: ['regimes-plugin'],
    scripts: { build: 'tsc -p tsconfig.json', test: 'vitest run', prepack: 'npm run build' },
    // peers: the host's copies are used (one tfjs-core, one @regimes/core)
    peerDependencies: { '@regimes/core': `^${coreVersion}`, '@tensorflow/tfjs-core': '^4.22.0' },
    ...(o.kind === 'backend' ? { dependencies: { '@tensorflow/tfjs-backend-cpu': '^4.22.0' } } : {}),
    devDependencies,
  };
  const id = camel(kind);
  const out: Record<string, string> = {
    'package.json': `${JSON.stringify(pkg, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          declaration: true,
          skipLibCheck: true,
          types: [],
          rootDir: 'src',
          outDir: 'dist',
        },
        include: ['src'],
      },
      null,
      2,
    )}\n`,
    '.gitignore': 'node_modules/\ndist/\nruns/\n',
    'vitest.config.ts': `import { defineConfig } from 'vitest/config';

// test/setup.ts gives the tests an active tfjs backend (the conformance suites need one).
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], setupFiles: ['./test/setup.ts'], testTimeout: 60_000 },
});
`,
    'test/setup.ts':
      o.kind === 'backend'
        ? `// The backend under test activates itself in its conformance suite. PROD: no tfjs console notes.
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
`
        : `// tfjs-core alone has no backend: register the cpu one and make it current for every test file.
// PROD: no tfjs console notes.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
await tf.setBackend('cpu');
`,
    'src/index.ts': `/** ${o.name}: the ${o.kind} kind '${kind}' as a regimes plugin (the manifest is the default export). */
import { ${factoryId[o.kind]}, ContainerModule, definePlugin } from '@regimes/core';
import { ${id} } from './${kind}.js';

export { ${id} };

export const plugin = definePlugin({
  name: '${o.name}',
  version: '0.1.0',
  core: '^${coreVersion}',
  description: 'the ${o.kind} kind ${kind}',
  module: new ContainerModule(({ bind }) => {
    bind(${factoryId[o.kind]}).toConstantValue(${id});
  }),
});
export default plugin;
`,
    [`src/${kind}.ts`]: kindSource[o.kind](kind, id),
    'test/conformance.test.ts': conformanceTest(o.kind, kind, id),
    'spec.yaml': specOf(o.kind, kind),
    'README.md': `# ${o.name}

The ${o.kind} kind \`${kind}\` for [regimes](https://github.com/regimes), written by \`regimes plugin new\`.

- \`npm install\`, then \`npm test\`: the ${o.kind} conformance suite of \`@regimes/core/testing\` and the manifest's.
- \`npm run build\`, then \`npx regimes run spec.yaml\` (the spec names this folder under \`plugins:\`; the
  \`regimes\` command comes from the devDependency @regimes/cli), or \`npx regimes run other.yaml --plugin ${o.name}\`
  once installed.
- Publish: \`npm publish\` (\`prepack\` builds dist/). Keep \`@regimes/core\` and \`@tensorflow/tfjs-core\` as
  peer dependencies, so that the host's copies are the ones used.

See regimes' docs/plugins.md for the contracts and what a plugin may touch.
`,
  };
  return out;
}

const factoryId: Record<PluginKind, string> = {
  learner: 'LearnerFactory',
  target: 'TargetFactory',
  metric: 'MetricFactory',
  backend: 'BackendFactory',
};

const kindSource: Record<PluginKind, (kind: string, id: string) => string> = {
  learner: (kind, id) => `/**
 * \`${kind}\`: linear regression f(x) = xW + c fitted by full-batch gradient descent on the squared
 * loss. Replace fit with your method; keep the rules the conformance suite checks: every tensor
 * freed (tf.tidy, dispose), n×k predictions, every draw from ctx.rng, reject on ctx.signal.
 */
import { defineLearnerKind, type LearnerFactory, options, z } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export const ${id}: LearnerFactory = defineLearnerKind({
  kind: '${kind}',
  description: 'linear regression by full-batch gradient descent (a template to replace)',
  options: options({
    steps: z.number().int().min(1).default(200).describe('gradient steps'),
    lr: z.number().positive().default(0.1).describe('learning rate'),
  }),
  create: (o) => ({
    async fit(train, ctx) {
      if (ctx.signal.aborted) throw new Error('${kind}: aborted');
      const [n, d] = train.x.shape;
      const k = train.y.shape[1];
      const [w0, c0] = [tf.zeros([d, k]), tf.zeros([1, k])];
      const [w, c] = [tf.variable(w0), tf.variable(c0)]; // a variable copies: free the initial values
      tf.dispose([w0, c0]);
      for (let step = 0; step < o.steps; step++) {
        if (ctx.signal.aborted) {
          tf.dispose([w, c]);
          throw new Error('${kind}: aborted');
        }
        tf.tidy(() => {
          const e = tf.sub(tf.add(tf.matMul(train.x, w), c), train.y);
          w.assign(tf.sub(w, tf.mul(tf.matMul(train.x, e, true, false), o.lr / n)));
          c.assign(tf.sub(c, tf.mul(tf.mean(e, 0, true), o.lr)));
        });
        ctx.progress(step + 1, o.steps);
      }
      return {
        predict: (x) => tf.tidy(() => tf.add(tf.matMul(x, w), c) as tf.Tensor2D),
        dispose: () => tf.dispose([w, c]),
      };
    },
  }),
});
`,
  target: (kind, id) => `/**
 * \`${kind}\`: f*(x) = cos(⟨u, x⟩) for x ~ N(0, I_d), u a unit vector drawn from the target's rng;
 * labels y = f*(x) + noise·ε. Replace evaluate with your function; every draw comes from an Rng.
 */
import { defineTargetKind, noisySample, options, type TargetFactory, z } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export const ${id}: TargetFactory = defineTargetKind({
  kind: '${kind}',
  description: 'f*(x) = cos(<u, x>) with a random unit u (a template to replace)',
  options: options({
    d: z.number().int().min(1).default(8).describe('input dimension'),
    noise: z.number().min(0).default(0).describe('label noise standard deviation'),
  }),
  dims: (o) => ({ d: o.d, k: 1 }),
  create(o, { rng }) {
    const u = rng.child('u').normal(o.d, new Float64Array(o.d));
    const norm = Math.hypot(...u);
    const direction = Float32Array.from(u, (v) => v / norm);
    const evaluate = (x: tf.Tensor2D) =>
      tf.tidy(() => tf.cos(tf.matMul(x, tf.tensor2d(direction, [o.d, 1]))) as tf.Tensor2D);
    return {
      dim: o.d,
      outputDim: 1,
      structure: { noiseVariance: o.noise * o.noise },
      evaluate,
      sample: (n, sampleRng) => noisySample(n, o.d, evaluate, o.noise, sampleRng),
    };
  },
});
`,
  metric: (kind, id) => `/**
 * \`${kind}\`: the mean absolute error E|f(x) − f*(x)| on the test set, read chunk by chunk.
 * Replace compute with your measure; free every tensor you make.
 */
import { defineMetricKind, type MetricFactory, options, testChunks } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';

export const ${id}: MetricFactory = defineMetricKind({
  kind: '${kind}',
  description: 'mean absolute error against the noiseless target (a template to replace)',
  options: options({}),
  create: () => ({
    async compute(predictor, test, target, context) {
      const chunks = testChunks(test, context);
      let sum = 0;
      await chunks.forEachChunk(async (chunk) => {
        const total = tf.tidy(() => tf.sum(tf.abs(tf.sub(predictor.predict(chunk.x), target.evaluate(chunk.x)))));
        try {
          sum += (await total.data())[0]!;
        } finally {
          total.dispose();
        }
      });
      return sum / chunks.n;
    },
  }),
});
`,
  backend: (kind, id) => `/**
 * \`${kind}\`: tfjs's cpu backend (@tensorflow/tfjs-backend-cpu) as a regimes backend. A backend
 * says whether it can run here (probe) and makes itself tfjs's current backend (activate).
 */
import { type BackendFactory, defineBackendKind, options } from '@regimes/core';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

export const ${id}: BackendFactory = defineBackendKind({
  kind: '${kind}',
  description: 'the tfjs cpu backend (a template to replace with your own)',
  options: options({}),
  priority: 0,
  create: () => ({
    name: 'cpu',
    async probe() {
      return tf.findBackendFactory('cpu')
        ? { available: true, device: 'cpu' }
        : { available: false, reason: 'install @tensorflow/tfjs-backend-cpu' };
    },
    async activate() {
      if (!(await tf.setBackend('cpu'))) throw new Error('${kind}: tfjs could not start the cpu backend');
    },
  }),
});
`,
};

function conformanceTest(k: PluginKind, kind: string, id: string): string {
  const head = `// The contracts, as @regimes/core/testing checks them: the manifest and the ${k} kind '${kind}'.
import { describe${k === 'learner' ? 'Learner' : k === 'target' ? 'Target' : k === 'metric' ? 'Metric' : 'Backend'}Conformance, describePluginConformance } from '@regimes/core/testing';
${k === 'learner' || k === 'metric' ? "import { hermite } from '@regimes/targets';\n" : ''}import plugin, { ${id} } from '../src/index.js';

describePluginConformance(plugin.name, plugin);
`;
  switch (k) {
    case 'learner':
      return `${head}describeLearnerConformance('${kind}', {
  factory: ${id},
  options: { steps: 50 },
  target: { factory: hermite, options: { d: 6, degree: 1 } },
  n: 64,
});
`;
    case 'target':
      return `${head}describeTargetConformance('${kind}', { factory: ${id}, options: { d: 6 } });
`;
    case 'metric':
      return `${head}describeMetricConformance('${kind}', {
  factory: ${id},
  target: { factory: hermite, options: { d: 6, degree: 2 } },
});
`;
    case 'backend':
      return `${head}describeBackendConformance('${kind}', { factory: ${id} });
`;
  }
}

function specOf(k: PluginKind, kind: string): string {
  const parts: Record<PluginKind, { target: string; learners: string; metrics: string; backend?: string }> = {
    learner: {
      target: '{ kind: hermite, d: 8, degree: 1 }',
      learners: `[{ kind: ${kind} }]`,
      metrics: '[risk]',
    },
    target: { target: `{ kind: ${kind}, d: 8 }`, learners: '[{ kind: rf, width: 512 }]', metrics: '[risk]' },
    metric: {
      target: '{ kind: hermite, d: 8, degree: 2 }',
      learners: '[{ kind: rf, width: 512 }]',
      metrics: `[risk, ${kind}]`,
    },
    backend: {
      target: '{ kind: hermite, d: 8, degree: 2 }',
      learners: '[{ kind: rf, width: 512 }]',
      metrics: '[risk]',
      backend: kind,
    },
  };
  const p = parts[k];
  return `# A spec that uses the ${k} kind '${kind}'. Build first (npm run build), then: npx regimes run spec.yaml
name: ${kind}-example
seed: 0
plugins: [.] # this package: its exports give dist/index.js
${p.backend ? `backend: ${p.backend}\n` : ''}target: ${p.target}
learners: ${p.learners}
metrics: ${p.metrics}
sweep:
  n: [64, 256, 1024]
test: { n: 2048 }
`;
}

export function registerPlugin(program: Command): void {
  const plugin = program.command('plugin').description('write a regimes plugin package (plugin new)');
  plugin
    .command('new')
    .description(
      'write a plugin package: manifest, one kind, its conformance tests (npm test passes as written) and a spec that uses it',
    )
    .argument('<name>', 'npm package name, e.g. regimes-plugin-my-learner (the kind is named after it)')
    .addOption(new Option('--kind <kind>', 'what the plugin adds').choices(pluginKinds).makeOptionMandatory())
    .option('--dir <folder>', 'where to write it (default: ./<name>)')
    .option(
      '--regimes <folder>',
      'take @regimes/* from a regimes checkout, or from the folder of its packed tarballs (npm run pack:tarballs), instead of the registry',
    )
    .action((name: string, flags: { kind: PluginKind; dir?: string; regimes?: string }) => {
      const registry = createRegistry();
      const { dir, files } = writePluginPackage({
        name,
        ...flags,
        taken: (kind) => registry.has(flags.kind, kind),
      });
      process.stdout.write(
        `wrote ${files.length} files to ${dir}:\n${files.map((f) => `  ${f}`).join('\n')}\nnext: cd ${relative(process.cwd(), dir) || '.'} && npm install && npm test\n`,
      );
      // its package.json asks the registry for @regimes/*, which is not there yet
      if (!flags.regimes)
        process.stdout.write(
          'note: @regimes/* are not on the npm registry yet, so npm install finds them only once they are: until then write the plugin with --regimes <a regimes checkout, or its packed tarballs> (docs/plugins.md)\n',
        );
    });
}
