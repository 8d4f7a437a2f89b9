#!/usr/bin/env node
// What @regimes/core loads from packages/core/generated/, written at build time (npm run build).
//
// 1. tfjs-core registers its gradients only from its ESM sources (dist/register_all_gradients.js), whose
// extensionless imports Node's ESM loader cannot resolve, and its Node entry (a CommonJS bundle)
// leaves them out. This bundles that one file at build time into packages/core/generated/, which
// @regimes/core imports once. The gradient functions land in tfjs's global registry, so the one
// engine every backend shares has them (the same route the @tensorflow/tfjs umbrella takes).
// Rollup's WebAssembly build is used: it needs no per-platform binary.
//
// 2. inversify and zod as one CommonJS file each (inversify.cjs, zod.cjs), which core loads with
// require (packages/core/deps/). As ES modules, Node loads them file by file: ~250 files for
// inversify 8 and its @inversifyjs packages, ~95 for zod, each resolved, read, compiled and linked
// by the ESM loader: ~0.25 s and ~0.3 CPU s of every process's start (a `run -j n` pays it once
// per worker). Loaded alone over a bare node, inversify cost 0.18 s as ES modules and 0.02 s as
// one CommonJS file, zod 0.10 and 0.06 s (docs/architecture.md, "inversify and zod from one
// CommonJS file each").
// esbuild bundles them: it takes the CommonJS reflect-metadata that inversify imports as it is.
//
// 3. zod's bundle keeps one locale, English (the one zod configures itself with): its index of
// locales requires all of them, 494 kB of the bundle's 997 kB, parsed by every process at start.
// Without them `require` of the bundle took 41 ms instead of 62 ms (2-core VM, 2026-12-05). On
// core's `z`, `z.locales` and `z.core.locales` hold `en` alone; a plugin that wants another locale
// imports zod itself, whose instance core accepts (docs/architecture.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { rollup } from '@rollup/wasm-node';
import * as esbuild from 'esbuild';

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

/** zod's `locales/index.cjs` (required by its core and classic entries) as English alone. */
let localesReplaced = 0;
const englishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onEnd(() => {
      if (!localesReplaced)
        throw new Error(
          "zod no longer requires '../locales/index.cjs': update the zod-english-only plugin of scripts/bundle-generated.mjs",
        );
    });
    build.onResolve({ filter: /^\.\.\/locales\/index\.cjs$/ }, (args) => ({
      path: join(args.resolveDir, '..', 'locales', 'index.cjs'),
      namespace: 'zod-locales',
    }));
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => {
      localesReplaced++;
      return {
        contents: [
          "Object.defineProperty(exports, '__esModule', { value: true });",
          // as zod's own index takes it (en.cjs sets module.exports to the function)
          "const en = require('./en.cjs');",
          'exports.en = en && en.__esModule ? en.default : en;',
        ].join('\n'),
        resolveDir: dirname(args.path),
        loader: 'js',
      };
    });
  },
};

for (const name of ['inversify', 'zod'])
  await esbuild.build({
    stdin: { contents: `module.exports = require('${name}');`, resolveDir: join(root, 'packages', 'core') },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: join(out, `${name}.cjs`),
    logLevel: 'warning',
    plugins: name === 'zod' ? [englishOnly] : [],
  });
