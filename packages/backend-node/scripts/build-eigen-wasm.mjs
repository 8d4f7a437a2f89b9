#!/usr/bin/env node
// Builds the WebAssembly form of the addon's float64 eigen solver (native/eigen-lite.c through
// native/eigen-wasm.c: one thread, SIMD128) into packages/numerics/wasm/eigen.wasm, where numerics
// loads it for the host's eigen-decompositions on backends without a compiled solver of their own
// (wasm, cpu, webgpu: a machine without a C compiler). The .wasm is committed, so `npm ci` needs no
// compiler for it; this script is for whoever changes the C sources, and a test rebuilds it and
// compares the bytes wherever the toolchain exists. Needs clang with the wasm32-wasi target, wasm-ld
// and a WASI libc (Debian/Ubuntu: apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32).
//   npm run build:eigen-wasm                  rebuild the committed file and its eigen.wasm.json
//   node build-eigen-wasm.mjs OUT.wasm        write it elsewhere (the test)
//   CLANG=clang-16                            the compiler (default: clang-14, then clang)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const native = join(here, '..', 'native');
const output = process.argv[2] ?? join(here, '..', '..', 'numerics', 'wasm', 'eigen.wasm');
/** The sources the .wasm is built from (the test pins their hash with the file's). */
export const eigenWasmSources = ['eigen-wasm.c', 'eigen-lite.c', 'eigen-lite-body.h', 'gemm.h'].map((f) =>
  join(native, f),
);

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * What a .wasm was built from: each source's SHA-256 and the file's own, written beside it as
 * eigen.wasm.json, so that a test can tell a source edited without a rebuild even where clang is absent.
 */
export function eigenWasmManifest(wasm) {
  return {
    sources: Object.fromEntries(eigenWasmSources.map((f) => [basename(f), sha256(f)])),
    wasm: sha256(wasm),
  };
}

// the WASI sysroot: Debian's wasi-libc puts its headers and libc under /usr, wasi-sdk under share/
const sysroots = [process.env.WASI_SYSROOT, '/usr', '/opt/wasi-sdk/share/wasi-sysroot'].filter(Boolean);
const sysroot = sysroots.find((dir) => existsSync(join(dir, 'lib', 'wasm32-wasi', 'libc.a')));
const compiler = [process.env.CLANG, 'clang-14', 'clang'].find(
  (cc) => cc && spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0,
);

export function buildEigenWasm(out = output) {
  if (!compiler || !sysroot)
    return {
      status: 1,
      text:
        `needs clang with the wasm32-wasi target and a WASI libc (found: ${compiler ?? 'no clang'}, ` +
        `${sysroot ? `sysroot ${sysroot}` : 'no WASI libc'}); Debian/Ubuntu: apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32`,
    };
  mkdirSync(dirname(out), { recursive: true });
  const r = spawnSync(
    compiler,
    [
      '--target=wasm32-wasi',
      `--sysroot=${sysroot}`,
      '-isystem',
      join(sysroot, 'include', 'wasm32-wasi'),
      `-L${join(sysroot, 'lib', 'wasm32-wasi')}`,
      '-O3',
      '-msimd128',
      '-mbulk-memory',
      '-fno-math-errno',
      '-fno-trapping-math',
      '-std=gnu11',
      '-DREGIMES_EIGEN_WASM',
      '-nostartfiles',
      '-Wl,--no-entry',
      '-Wl,--strip-all',
      // up to 4 GiB: m = 8192 needs ~2.2 GiB (w, the vectors and the merges' scratch)
      '-Wl,--max-memory=4294967296',
      '-o',
      out,
      eigenWasmSources[0],
      eigenWasmSources[1],
    ],
    { encoding: 'utf8' },
  );
  return { status: r.status ?? 1, text: `${r.stdout}${r.stderr}` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = buildEigenWasm();
  process.stdout.write(r.text);
  if (r.status === 0) {
    writeFileSync(`${output}.json`, `${JSON.stringify(eigenWasmManifest(output), null, 2)}\n`);
    console.log(`regimes: built ${output} (and ${basename(output)}.json, its sources' hashes)`);
  }
  process.exit(r.status);
}
