/**
 * Two libraries core needs only on some paths, loaded on first use instead of at import: `yaml`
 * (reading a spec file: the command does, a worker process never does) and `semver` (checking a
 * plugin's manifest, which the built-in plugins' plain `X.Y.Z` and `^X.Y.Z` do without it). Each
 * costs ~40 ms and ~50–75 files at a process's start, which a `run -j n` pays once per worker.
 * Both are CommonJS in Node, so a synchronous require keeps their callers synchronous. The browser
 * build of the engine (cli/web) answers these two requests from its bundle (web/shims/module.js).
 */
import { createRequire } from 'node:module';
import type * as Semver from 'semver';
import type * as Yaml from 'yaml';

const require = createRequire(import.meta.url);
let yamlModule: typeof Yaml | undefined;
let semverModule: typeof Semver | undefined;

/** The `yaml` package, loaded on the first call. */
export function yaml(): typeof Yaml {
  return (yamlModule ??= require('yaml') as typeof Yaml);
}

/** The `semver` package, loaded on the first call. */
export function semver(): typeof Semver {
  return (semverModule ??= require('semver') as typeof Semver);
}

/** A plain `X.Y.Z` (no `v`, build or prerelease), each number short enough to be exact. */
const PLAIN = /^(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})$/;
/** A caret range `^X.Y.Z` of a plain version. */
const CARET = /^\^(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})$/;

/** `semver.valid(v) !== null`; a plain `X.Y.Z` without loading semver. */
export function validVersion(v: string): boolean {
  return PLAIN.test(v) || semver().valid(v) !== null;
}

/** `semver.validRange(r) !== null`; a caret range `^X.Y.Z` without loading semver. */
export function validRange(r: string): boolean {
  return CARET.test(r) || semver().validRange(r) !== null;
}

/**
 * `semver.satisfies(version, range, { includePrerelease: true })`; a plain version against a caret
 * range without loading semver: `^A.B.C` allows changes that do not touch the leftmost non-zero
 * number (`^1.2.3` is >=1.2.3 <2.0.0, `^0.2.3` is >=0.2.3 <0.3.0, `^0.0.3` is 0.0.3 alone).
 */
export function satisfies(version: string, range: string): boolean {
  const v = PLAIN.exec(version)?.slice(1).map(Number);
  const r = CARET.exec(range)?.slice(1).map(Number);
  if (!v || !r) return semver().satisfies(version, range, { includePrerelease: true });
  const [a, b, c] = r as [number, number, number];
  const [x, y, z] = v as [number, number, number];
  const atLeast = x !== a ? x > a : y !== b ? y > b : z >= c;
  if (a > 0) return x === a && atLeast;
  if (b > 0) return x === 0 && y === b && atLeast;
  return x === 0 && y === 0 && z === c;
}
