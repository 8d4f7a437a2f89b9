/**
 * Where and how a run was made: one line per `regimes run` in `provenance.jsonl` beside the results
 * (date, command, spec hash, the git commits of regimes and of the spec's folder, Node, CPU, memory,
 * the backend and its device). `regimes report` prints them; rows keep their own backend and versions.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry } from '@regimes/core';

export const PROVENANCE_FILE = 'provenance.jsonl';

export interface Provenance {
  startedAt: string;
  finishedAt: string;
  /** The command's arguments after `regimes`. */
  command: string[];
  cwd: string;
  spec: string;
  specHash: string;
  /** Rows this invocation computed, found present, and that failed. */
  rows: { ran: number; resumed: number; failed: number };
  regimes: { version: string; commit: string };
  /** The git commit of the folder the spec is in, when it is in a repository. */
  specCommit: string;
  node: string;
  platform: string;
  host: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  backend: string;
  device: string;
  blasThreads: string;
  jobs: number;
}

/**
 * `<commit>` (`+ local changes` when the tree differs from it), or why there is none. With `root`,
 * only a repository whose top folder is `root` counts (an installed package inside someone's
 * project is not that project's commit). Asynchronous: `regimes run` starts it with the run and
 * reads it at the end, so its `git` processes do not add to the run's wall time.
 */
export async function gitCommit(dir: string, root?: string): Promise<string> {
  const git = (...args: string[]) =>
    new Promise<{ ok: boolean; stdout: string }>((done) => {
      execFile('git', ['-C', dir, ...args], { encoding: 'utf8', timeout: 5000 }, (error, stdout) =>
        done({ ok: !error, stdout }),
      );
    });
  const head = await git('rev-parse', 'HEAD');
  if (!head.ok) return 'not in a git repository';
  if (root !== undefined) {
    const top = await git('rev-parse', '--show-toplevel');
    if (resolve(top.stdout.trim()) !== resolve(root)) return 'an installed package, not a git checkout';
  }
  const dirty = (await git('status', '--porcelain', '--untracked-files=no')).stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? ' + local changes' : ''}`;
}

/** The machine and the regimes install, as far as they do not depend on the run. */
export async function machine(): Promise<
  Pick<Provenance, 'regimes' | 'node' | 'platform' | 'host' | 'cpu' | 'cores' | 'memoryGiB' | 'blasThreads'>
> {
  // this file is packages/cli/dist/run/provenance.js
  const cliDir = fileURLToPath(new URL('../../', import.meta.url));
  const pkgPath = join(cliDir, 'package.json');
  const version = existsSync(pkgPath)
    ? (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version
    : 'unknown';
  const list = cpus();
  // the checkout's root is two folders above packages/cli
  const commit = gitCommit(cliDir, join(cliDir, '..', '..'));
  // read now, when the call is made (the pool sets OPENBLAS_NUM_THREADS for its run, then restores it)
  const blasThreads = process.env.OPENBLAS_NUM_THREADS ?? '(OpenBLAS default)';
  return {
    regimes: { version, commit: await commit },
    node: process.versions.node,
    platform: `${process.platform} ${process.arch}`,
    host: hostname(),
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    blasThreads,
  };
}

/** The device the backend reports (its probe), or why it reports none. */
export async function backendDevice(registry: Registry, kind: string): Promise<string> {
  try {
    const factory = registry.get('backend', kind);
    const availability = await factory.create(factory.options.parse({})).probe();
    if (!availability.available) return `unavailable: ${availability.reason}`;
    return [availability.device, availability.version && `v${availability.version}`]
      .filter(Boolean)
      .join(', ');
  } catch (error) {
    return `probe failed: ${(error as Error).message}`;
  }
}

/** Append one run's record; a failure to write it is reported, not fatal (the rows are written). */
export function appendProvenance(outDir: string, record: Provenance, warn: (m: string) => void): void {
  try {
    appendFileSync(join(outDir, PROVENANCE_FILE), `${JSON.stringify(record)}\n`);
  } catch (error) {
    warn(`could not record the run's provenance in ${outDir}: ${(error as Error).message}`);
  }
}

/** The records of a run folder, oldest first; lines that are not records are skipped. */
export function readProvenance(runDir: string): Provenance[] {
  const path = join(runDir, PROVENANCE_FILE);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const record = JSON.parse(line) as Provenance;
        return record && typeof record === 'object' && typeof record.startedAt === 'string' ? [record] : [];
      } catch {
        return [];
      }
    });
}
