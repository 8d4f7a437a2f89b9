#!/usr/bin/env node
// Builds the addons committed for Linux (prebuilt/linux-x64/ and prebuilt/linux-arm64/
// regimes_blas.node): the build without OpenBLAS (regimes' own SGEMM, blocked Cholesky,
// divide-and-conquer eigen solver), its glibc symbols bound to each architecture's baseline versions
// (native/glibc-compat.h). The backend loads one where `npm ci` built no addon of its own (no C
// compiler), so that such a machine gets the addon's threads rather than wasm's single one. Beside
// each, regimes_blas.node.json pins the SHA-256 of every input (native/*.c and *.h,
// build-native.mjs), of the file itself and the compiler's version: a test fails when an input
// changes without a rebuild, and rebuilds it and compares the bytes where the same compiler exists.
// The committed files: Debian 12's gcc 12.2 on x86-64, and its cross compiler gcc-aarch64-linux-gnu
// (apt-get install gcc-aarch64-linux-gnu) for arm64; on an arm64 host its own gcc builds that one.
//   npm run build:prebuilt                          rebuild every target whose compiler exists, and the manifests
//   node build-prebuilt.mjs --target T [OUT.node]   one target (linux-x64 or linux-arm64), elsewhere with OUT (no manifest)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative, commandRuns, findCompiler, nativeInputs } from './build-native.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** The targets with a committed addon: Node's process.arch for each, and the GCC that cross-compiles for it. */
export const prebuiltTargets = {
  'linux-x64': { arch: 'x64', cross: 'x86_64-linux-gnu-gcc' },
  'linux-arm64': { arch: 'arm64', cross: 'aarch64-linux-gnu-gcc' },
};

/** The committed addon of a target. */
export const prebuiltAddon = (target) => join(root, 'prebuilt', target, 'regimes_blas.node');

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The compiler for a target: this machine's own where it is that target, else the cross compiler; undefined if none runs. */
export function targetCompiler(target) {
  const { arch, cross } = prebuiltTargets[target];
  const own = process.platform === 'linux' && process.arch === arch ? [findCompiler()] : [];
  return [...own, cross].find((cc) => cc && commandRuns(cc));
}

/**
 * The compiler's first line of `--version` less the name it was called by (cc and gcc are one
 * compiler): the rebuild test compares bytes only under the same one.
 */
export function compilerVersion(compiler) {
  if (!compiler) return undefined;
  const line = spawnSync(compiler, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim();
  return line.replace(/^\S+\s+/, '');
}

/** What an addon was built from: each input's hash (by its path under backend-node), the file's, the compiler's version. */
export function prebuiltManifest(addon, compiler) {
  return {
    inputs: Object.fromEntries(nativeInputs().map((f) => [relative(root, f), sha256(f)])),
    addon: sha256(addon),
    compiler: compilerVersion(compiler),
  };
}

/** Builds a target's prebuilt addon into `out`; { status, text, compiler }. */
export function buildPrebuilt(target, out = prebuiltAddon(target)) {
  if (!prebuiltTargets[target])
    return { status: 1, text: `no prebuilt target ${target}: ${Object.keys(prebuiltTargets).join(', ')}` };
  const compiler = targetCompiler(target);
  if (!compiler)
    return {
      status: 1,
      text: `no compiler for ${target} (${prebuiltTargets[target].cross}${process.arch === prebuiltTargets[target].arch ? ', cc, gcc or clang' : ''})`,
    };
  return { ...buildNative({ out, compiler, prebuilt: true }), compiler };
}

// run as a script (not imported by a test); argv[1] may go through a symlink
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--target');
  const targets = at >= 0 ? [args[at + 1]] : Object.keys(prebuiltTargets);
  const out = at >= 0 ? args[at + 2] : undefined;
  let failed = 0;
  for (const target of targets) {
    const r = buildPrebuilt(target, out);
    if (r.status !== 0) {
      console.error(`regimes: ${target}: ${r.text}`);
      failed++;
      continue;
    }
    if (!out)
      writeFileSync(
        `${prebuiltAddon(target)}.json`,
        `${JSON.stringify(prebuiltManifest(prebuiltAddon(target), r.compiler), null, 2)}\n`,
      );
    console.log(
      `regimes: built ${out ?? prebuiltAddon(target)} with ${r.compiler}${out ? '' : ` (and ${basename(prebuiltAddon(target))}.json, its inputs' hashes)`}`,
    );
  }
  process.exit(failed ? 1 : 0);
}
