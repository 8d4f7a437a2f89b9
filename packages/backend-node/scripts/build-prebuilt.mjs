#!/usr/bin/env node
// Builds the addon committed for linux-x64 (prebuilt/linux-x64/regimes_blas.node): the build without
// OpenBLAS (regimes' own SGEMM, blocked Cholesky, divide-and-conquer eigen solver), its glibc symbols
// bound to versions every x86-64 glibc exports (native/glibc-compat.h). The backend loads it where
// `npm ci` built no addon of its own (no C compiler), so that such a machine gets the addon's speed
// rather than wasm's single thread. Beside it, regimes_blas.node.json pins the SHA-256 of every input
// (native/*.c and *.h, build-native.mjs), of the file itself and the compiler that made it: a test
// fails when an input changes without a rebuild, and rebuilds it and compares the bytes where the same
// compiler exists. Run on linux-x64 with GCC (the committed file: Debian 12's gcc 12.2).
//   npm run build:prebuilt                 rebuild the committed file and its manifest
//   node build-prebuilt.mjs OUT.node       write it elsewhere (the test), no manifest
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative, findCompiler, nativeInputs } from './build-native.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
/** The committed addon, for process.platform-process.arch. */
export const prebuiltAddon = join(root, 'prebuilt', 'linux-x64', 'regimes_blas.node');

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * The compiler's first line of `--version` less the name it was called by (cc and gcc are one
 * compiler): the rebuild test compares bytes only under the same one.
 */
export function compilerVersion(compiler = findCompiler()) {
  if (!compiler) return undefined;
  const line = spawnSync(compiler, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim();
  return line.replace(/^\S+\s+/, '');
}

/** What the addon was built from: each input's hash (by its path under backend-node), the file's, the compiler's version. */
export function prebuiltManifest(addon, compiler) {
  return {
    inputs: Object.fromEntries(nativeInputs().map((f) => [relative(root, f), sha256(f)])),
    addon: sha256(addon),
    compiler: compilerVersion(compiler),
  };
}

/** Builds the prebuilt addon into `out`; { status, text }. */
export function buildPrebuilt(out = prebuiltAddon) {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return {
      status: 1,
      text: `the prebuilt addon is for linux-x64; this is ${process.platform}-${process.arch}`,
    };
  const compiler = findCompiler();
  if (!compiler) return { status: 1, text: 'no C compiler found (cc, gcc or clang; or set CC)' };
  return { ...buildNative({ out, compiler, prebuilt: true }), compiler };
}

// run as a script (not imported by a test); argv[1] may go through a symlink
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? prebuiltAddon;
  const r = buildPrebuilt(out);
  if (r.status !== 0) {
    console.error(`regimes: ${r.text}`);
    process.exit(1);
  }
  if (out === prebuiltAddon)
    writeFileSync(`${out}.json`, `${JSON.stringify(prebuiltManifest(out, r.compiler), null, 2)}\n`);
  console.log(
    `regimes: built ${out}${out === prebuiltAddon ? ` (and ${basename(out)}.json, its inputs' hashes)` : ''}`,
  );
}
