#!/usr/bin/env node
// Builds the addon of the `native` backend (native/blas.c, gemm.c, lapack-lite.c, eigen-lite.c,
// relu-dual.c) with the system's C compiler and
// Node's own N-API headers — no node-gyp, no download. With OpenBLAS (cblas.h and libopenblas)
// products and LAPACK (Cholesky, triangular solves, eigen) run on it; without it, on regimes' own
// packed SGEMM (AVX2/FMA where the CPU has them, threads over cores). Never fails the install: where
// no compiler exists it says what to install and exits 0, and the default backend stays wasm.
//   npm run build:native                 rebuild (after installing OpenBLAS or a compiler)
//   REGIMES_NO_OPENBLAS=1                build without OpenBLAS even where it is installed
//   REGIMES_NATIVE_OUT=path.node         write the addon elsewhere (tests)
//   CC=clang                             the compiler (default: cc, then gcc, then clang)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const native = join(here, '..', 'native');
const output = process.env.REGIMES_NATIVE_OUT ?? join(native, 'build', 'Release', 'regimes_blas.node');
const say = (text) => console.log(`regimes: ${text}`);

const compiler = [process.env.CC, 'cc', 'gcc', 'clang'].find(
  (cc) => cc && spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0,
);
if (!compiler) {
  say(
    'no C compiler found (cc, gcc or clang; or set CC), so the native backend is not built and the default backend stays wasm (about 20–30 GFLOP/s). ' +
      'Install one (Debian/Ubuntu: apt-get install gcc; Fedora: dnf install gcc; macOS: xcode-select --install), then run: npm run build:native',
  );
  process.exit(0);
}

// N-API headers: the node-api-headers package if installed, else those of the running Node
const nodeIncludes = [];
try {
  nodeIncludes.push(
    join(dirname(createRequire(import.meta.url).resolve('node-api-headers/package.json')), 'include'),
  );
} catch {
  // not installed
}
nodeIncludes.push(join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node');
const nodeInclude = nodeIncludes.find((dir) => existsSync(join(dir, 'node_api.h')));
if (!nodeInclude) {
  say(
    `Node's N-API headers (node_api.h) were not found in ${nodeIncludes.join(', ')}, so the native backend is not built. ` +
      'Install Node with its headers (Debian/Ubuntu: apt-get install libnode-dev) or npm install node-api-headers, then run: npm run build:native',
  );
  process.exit(0);
}

const blasHeaders = [
  '/usr/include',
  '/usr/include/x86_64-linux-gnu',
  '/usr/include/aarch64-linux-gnu',
  '/usr/include/openblas',
  '/opt/homebrew/opt/openblas/include',
  '/usr/local/opt/openblas/include',
];
const blasLibraries = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib',
  '/usr/lib64',
  '/opt/homebrew/opt/openblas/lib',
  '/usr/local/opt/openblas/lib',
];
const hidden = ['1', 'true', 'yes'].includes((process.env.REGIMES_NO_OPENBLAS ?? '').toLowerCase());
const blasInclude = blasHeaders.find((dir) => existsSync(join(dir, 'cblas.h')));
const blasLib = blasLibraries.find(
  (dir) => existsSync(join(dir, 'libopenblas.so')) || existsSync(join(dir, 'libopenblas.dylib')),
);
const openblas = !hidden && blasInclude !== undefined && blasLib !== undefined;

const flags = [
  '-O3',
  // sqrt without errno, comparisons without floating-point traps (nothing here reads either): the
  // ReLU dual's branch-free loop (relu-dual.c) vectorizes only with both; no result changes
  '-fno-math-errno',
  '-fno-trapping-math',
  '-std=gnu11',
  '-shared',
  '-fPIC',
  '-pthread',
  '-DNODE_GYP_MODULE_NAME=regimes_blas',
  `-I${nodeInclude}`,
  ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : []),
  ...(openblas ? ['-DREGIMES_OPENBLAS', `-I${blasInclude}`] : []),
  join(native, 'blas.c'),
  join(native, 'gemm.c'),
  join(native, 'gemv.c'),
  join(native, 'lapack-lite.c'),
  join(native, 'eigen-lite.c'),
  join(native, 'relu-dual.c'),
  '-lm',
  ...(openblas ? [`-L${blasLib}`, `-Wl,-rpath,${blasLib}`, '-lopenblas'] : []),
];
mkdirSync(dirname(output), { recursive: true });
const temporary = `${output}.${process.pid}.tmp`;
const result = spawnSync(compiler, [...flags, '-o', temporary], { encoding: 'utf8' });
if (result.status !== 0) {
  rmSync(temporary, { force: true });
  say(
    `compiling the native addon with ${compiler} failed, so the native backend stays unavailable (the default is wasm):\n` +
      `${(result.stderr || result.stdout || result.error?.message || '').split('\n').slice(-8).join('\n')}`,
  );
  process.exit(0);
}
renameSync(temporary, output); // a running process keeps the file it loaded
say(
  openblas
    ? `native backend built on the system OpenBLAS (products, Cholesky, triangular solves, eigen): ${output}`
    : `native backend built on regimes' own SGEMM (${hidden ? 'OpenBLAS hidden by REGIMES_NO_OPENBLAS' : 'OpenBLAS not found'}): ` +
        'matrix products on all cores; Cholesky by panels over them, its own float64 eigen solver (no LAPACK). For LAPACK, install OpenBLAS ' +
        '(Debian/Ubuntu: apt-get install libopenblas-dev; Fedora: dnf install openblas-devel; macOS: brew install openblas), then run: npm run build:native',
);
