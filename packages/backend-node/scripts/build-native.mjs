#!/usr/bin/env node
// Builds the optional BLAS addon of the `native` backend when the system has OpenBLAS (cblas.h and
// libopenblas). Never fails the install: without the library it says what to install and exits 0.
//   Debian/Ubuntu: apt-get install libopenblas-dev, then: npm run build:native
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const native = join(here, '..', 'native');
const headers = [
  '/usr/include/cblas.h',
  '/usr/include/x86_64-linux-gnu/cblas.h',
  '/usr/include/aarch64-linux-gnu/cblas.h',
  '/usr/include/openblas/cblas.h',
];
const libraries = [
  '/usr/lib/x86_64-linux-gnu/libopenblas.so',
  '/usr/lib/aarch64-linux-gnu/libopenblas.so',
  '/usr/lib/libopenblas.so',
  '/usr/lib64/libopenblas.so',
];

if (!headers.some(existsSync) || !libraries.some(existsSync)) {
  console.log(
    'regimes: OpenBLAS not found; the native backend is not built (install libopenblas-dev, then npm run build:native)',
  );
  process.exit(0);
}
let gyp;
try {
  gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.log('regimes: node-gyp is not installed; the native backend is not built');
  process.exit(0);
}
// Build against the headers of the running Node (a distribution's /usr/include/node), so no download is needed.
const prefix = dirname(dirname(process.execPath));
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? ['--nodedir', prefix] : [];
const result = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedir], {
  cwd: native,
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (result.status !== 0) {
  console.log(
    `regimes: building the native BLAS addon failed; the native backend stays unavailable:\n${(result.stderr || result.stdout).split('\n').slice(-8).join('\n')}`,
  );
  process.exit(0);
}
console.log('regimes: native BLAS backend built (native/build/Release/regimes_blas.node)');
