#!/usr/bin/env node
// The page of `regimes serve`, bundled with esbuild into dist/web/ at build time (no CDN at run time):
//   page.js   — the page: run list, Vega-Lite figures drawn by vega-embed, the live feed
//   engine.js — a browser build of core, targets, learners and metrics with the wasm and webgpu
//               tfjs backends, loaded when the page runs a spec; the tfjs-backend-wasm binaries
//               are copied beside it.
// Node-only modules (node:fs, node:path, ... that the engine's file and process parts import) are
// replaced by web/shims/: inert or throwing stand-ins, since the page runs specs without files or
// worker processes. node:crypto becomes a synchronous SHA-256 (spec hash, row checksums).
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(cli, '..', '..');
const web = join(cli, 'web');
const out = join(cli, 'dist', 'web');
const require = createRequire(join(cli, 'package.json'));
const posix = (p) => p.split('\\').join('/');

// package.json versions the engine reads through createRequire, keyed by their path in the repo
const packages = {};
for (const name of readdirSync(join(root, 'packages'))) {
  const file = join(root, 'packages', name, 'package.json');
  try {
    packages[posix(relative(root, file))] = { version: JSON.parse(readFileSync(file, 'utf8')).version };
  } catch {
    // not a package folder
  }
}
for (const dep of [
  '@tensorflow/tfjs-backend-webgpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-core',
])
  packages[`node_modules/${dep}/package.json`] = { version: require(`${dep}/package.json`).version };

const shim = (name) => join(web, 'shims', name);
const nodeShims = {
  name: 'node-shims',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => {
      const mod = args.path.slice(5);
      if (mod === 'crypto') return { path: shim('crypto.js') };
      if (mod === 'module') return { path: shim('module.js') };
      return { path: shim('node-builtin.js') };
    });
    // each module of ours sees its own path in the repository as import.meta.url
    build.onLoad({ filter: /[/\\]packages[/\\][^/\\]+[/\\]dist[/\\].*\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll(
        'import.meta.url',
        JSON.stringify(`regimes:/${posix(relative(root, args.path))}`),
      ),
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

mkdirSync(out, { recursive: true });
const common = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
};
await esbuild.build({
  ...common,
  entryPoints: { page: join(web, 'page.ts') },
  outdir: out,
});
await esbuild.build({
  ...common,
  entryPoints: { engine: join(web, 'engine.ts') },
  outdir: out,
  plugins: [nodeShims],
  inject: [shim('process.js')],
  define: { __REGIMES_PACKAGES__: JSON.stringify(packages), global: 'globalThis' },
  mainFields: ['browser', 'module', 'main'],
});
const wasmDist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
for (const f of readdirSync(join(wasmDist, 'dist')).filter((f) => f.endsWith('.wasm')))
  copyFileSync(join(wasmDist, 'dist', f), join(out, f));
for (const f of ['index.html', 'style.css']) copyFileSync(join(web, f), join(out, f));
