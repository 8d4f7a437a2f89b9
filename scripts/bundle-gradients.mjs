#!/usr/bin/env node
// tfjs-core registers its gradients only from its ESM sources (dist/register_all_gradients.js), whose
// extensionless imports Node's ESM loader cannot resolve, and its Node entry (a CommonJS bundle)
// leaves them out. This bundles that one file at build time into packages/core/generated/, which
// @regimes/core imports once. The gradient functions land in tfjs's global registry, so the one
// engine every backend shares has them (the same route the @tensorflow/tfjs umbrella takes).
// Rollup's WebAssembly build is used: it needs no per-platform binary.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { rollup } from '@rollup/wasm-node';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'packages', 'core', 'generated');
const input = createRequire(join(root, 'packages', 'core', 'package.json')).resolve(
  '@tensorflow/tfjs-core/dist/register_all_gradients.js',
);
const bundle = await rollup({ input, plugins: [nodeResolve({ extensions: ['.js'] })], onwarn: () => {} });
mkdirSync(out, { recursive: true });
await bundle.write({ file: join(out, 'tfjs-gradients.js'), format: 'es' });
writeFileSync(
  join(out, 'tfjs-gradients.d.ts'),
  '// side effects only: registers tfjs-core gradients\nexport {};\n',
);
