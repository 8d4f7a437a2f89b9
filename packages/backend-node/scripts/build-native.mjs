#!/usr/bin/env node
// Builds the addon of the `native` backend (native/blas.c, gemm.c, lapack-lite.c, eigen-lite.c,
// relu-dual.c, mehler-series.c) with the system's C compiler and
// Node's own N-API headers — no node-gyp, no download. With OpenBLAS (cblas.h and libopenblas)
// products and LAPACK (Cholesky, triangular solves, eigen) run on it; without it, on regimes' own
// packed SGEMM (AVX2/FMA where the CPU has them, threads over cores). Never fails the install: where
// no compiler exists, or the build fails, it says what it falls back to and exits 0.
//   npm run build:native                 rebuild (after installing OpenBLAS or a compiler)
//   REGIMES_NO_OPENBLAS=1                build without OpenBLAS even where it is installed
//   REGIMES_NATIVE_OUT=path.node         write the addon elsewhere (tests)
//   CC=clang                             the compiler (default: cc, then gcc, then clang)
// Where no addon gets built on linux-x64 or linux-arm64, the backend loads the one committed under prebuilt/
// (scripts/build-prebuilt.mjs builds it with buildNative below).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const native = join(here, '..', 'native');
const say = (text) => console.log(`regimes: ${text}`);

/** The addon's C files, compiled together (the headers beside them are included by these). */
export const nativeSources = [
  'blas.c',
  'gemm.c',
  'gemv.c',
  'lapack-lite.c',
  'eigen-lite.c',
  'relu-dual.c',
  'mehler-series.c',
  'huge-pages.c',
];
/** Every file the addon's bytes depend on: its C files, the headers of native/ and this script (the flags). */
export const nativeInputs = () => [
  ...readdirSync(native)
    .filter((f) => f.endsWith('.h') || nativeSources.includes(f))
    .sort()
    .map((f) => join(native, f)),
  fileURLToPath(import.meta.url),
];

/** Whether `command --version` runs and exits 0 (a compiler, qemu). */
export const commandRuns = (command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;

/** The first of $CC, cc, gcc, clang that runs. */
export function findCompiler() {
  return [process.env.CC, 'cc', 'gcc', 'clang'].find((cc) => cc && commandRuns(cc));
}

/** The directory of node_api.h (the node-api-headers package if installed, else the running Node's), or the places tried. */
function findNodeInclude() {
  const nodeIncludes = [];
  try {
    nodeIncludes.push(
      join(dirname(createRequire(import.meta.url).resolve('node-api-headers/package.json')), 'include'),
    );
  } catch {
    // not installed
  }
  nodeIncludes.push(join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node');
  return { dir: nodeIncludes.find((dir) => existsSync(join(dir, 'node_api.h'))), tried: nodeIncludes };
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

/**
 * Compiles the addon into `out` (through a temporary file and a rename: a running process keeps the
 * file it loaded). `openblas`: link the system OpenBLAS where found; `prebuilt`: the options of the
 * committed Linux builds (no OpenBLAS, glibc-compat.h, N-API 8; build-prebuilt.mjs). Returns { status, text, openblas },
 * status 0 on success.
 */
export function buildNative({ out, compiler, openblas: wantOpenblas = true, prebuilt = false }) {
  const nodeInclude = findNodeInclude();
  if (!nodeInclude.dir)
    return {
      status: 1,
      text:
        `Node's N-API headers (node_api.h) were not found in ${nodeInclude.tried.join(', ')}, so the native backend is not built. ` +
        'Install Node with its headers (Debian/Ubuntu: apt-get install libnode-dev) or npm install node-api-headers, then run: npm run build:native',
    };
  const blasInclude = blasHeaders.find((dir) => existsSync(join(dir, 'cblas.h')));
  const blasLib = blasLibraries.find(
    (dir) => existsSync(join(dir, 'libopenblas.so')) || existsSync(join(dir, 'libopenblas.dylib')),
  );
  const openblas = wantOpenblas && !prebuilt && blasInclude !== undefined && blasLib !== undefined;
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
    `-I${nodeInclude.dir}`,
    ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : []),
    ...(openblas ? ['-DREGIMES_OPENBLAS', `-I${blasInclude}`] : []),
    // the committed build: every N-API function it calls exists from N-API 8 (Node ≥ 12.22), and its
    // glibc symbols are bound to versions every x86-64 glibc exports (native/glibc-compat.h)
    ...(prebuilt ? ['-DNAPI_VERSION=8', '-include', join(native, 'glibc-compat.h')] : []),
    ...nativeSources.map((f) => join(native, f)),
    '-lm',
    ...(openblas ? [`-L${blasLib}`, `-Wl,-rpath,${blasLib}`, '-lopenblas'] : []),
  ];
  mkdirSync(dirname(out), { recursive: true });
  const temporary = `${out}.${process.pid}.tmp`;
  const result = spawnSync(compiler, [...flags, '-o', temporary], { encoding: 'utf8' });
  if (result.status !== 0) {
    rmSync(temporary, { force: true });
    return {
      status: 1,
      openblas,
      text: `compiling the native addon with ${compiler} failed:\n${(result.stderr || result.stdout || result.error?.message || '').split('\n').slice(-8).join('\n')}`,
    };
  }
  renameSync(temporary, out);
  return { status: 0, openblas, text: '' };
}

/** What a machine without an addon of its own gets, for the install's messages. */
const fallback = existsSync(
  join(here, '..', 'prebuilt', `${process.platform}-${process.arch}`, 'regimes_blas.node'),
)
  ? `the backend loads the prebuilt addon committed for ${process.platform}-${process.arch} (regimes' own SGEMM, no OpenBLAS; any glibc Node 20 runs on)`
  : 'the default backend stays wasm (about 20–30 GFLOP/s; no prebuilt addon for this platform)';

// run as a script (not imported by build-prebuilt.mjs or a test); argv[1] may go through a symlink
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const output = process.env.REGIMES_NATIVE_OUT ?? join(native, 'build', 'Release', 'regimes_blas.node');
  const hidden = ['1', 'true', 'yes'].includes((process.env.REGIMES_NO_OPENBLAS ?? '').toLowerCase());
  const compiler = findCompiler();
  if (!compiler) {
    say(
      `no C compiler found (cc, gcc or clang; or set CC), so no addon is built here: ${fallback}. ` +
        'For one built on this machine (and on OpenBLAS where installed), install a compiler (Debian/Ubuntu: apt-get install gcc; ' +
        'Fedora: dnf install gcc; macOS: xcode-select --install), then run: npm run build:native',
    );
    process.exit(0);
  }
  const r = buildNative({ out: output, compiler, openblas: !hidden });
  if (r.status !== 0) {
    // never fails the install
    say(`${r.text}\nSo no addon is built here: ${fallback}.`);
    process.exit(0);
  }
  say(
    r.openblas
      ? `native backend built on the system OpenBLAS (products, Cholesky, triangular solves, eigen): ${output}`
      : `native backend built on regimes' own SGEMM (${hidden ? 'OpenBLAS hidden by REGIMES_NO_OPENBLAS' : 'OpenBLAS not found'}): ` +
          'matrix products on all cores; Cholesky by panels over them, its own float64 eigen solver (no LAPACK). For LAPACK, install OpenBLAS ' +
          '(Debian/Ubuntu: apt-get install libopenblas-dev; Fedora: dnf install openblas-devel; macOS: brew install openblas), then run: npm run build:native',
  );
}
