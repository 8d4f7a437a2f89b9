/**
 * `regimes run -j n` starts its worker processes before it loads its own modules, so that their
 * start-up (node, the modules, the registry: about 2 CPU seconds each) runs on the other cores while
 * this process loads and plans, instead of after. This module is imported first by bin/regimes.js
 * and imports only Node's own: it forks `n − 1` workers (this process runs cells too, pool.ts) and
 * leaves them for the pool, which adopts them (`takePreforked` in @regimes/core) when the run starts
 * its workers. Unadopted (all rows resumed, a dry run that was not one, an error), they are
 * unreferenced and end when this process does (a worker exits when its channel closes).
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the pool checks before adopting a forked worker (see PREFORKED in core's pool.ts). */
interface Preforked {
  child: ReturnType<typeof fork>;
  registryModule: string;
  threads: string;
}

const PREFORKED = Symbol.for('regimes.preforked');

/**
 * A `-j/--jobs` value: a positive integer, or `auto` for one process per core (Node's
 * availableParallelism: the cores this process may run on). Undefined for anything else.
 */
export function jobsValue(text: string | undefined): number | undefined {
  if (text?.trim().toLowerCase() === 'auto') return availableParallelism();
  const n = Number(text);
  return text?.trim() && Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** The `-j/--jobs` of a `run` command line (undefined if it is not one, or asks for help or a dry run). */
export function jobsOf(argv: readonly string[]): number | undefined {
  const args = argv.slice(2);
  const command = args.find((a) => !a.startsWith('-'));
  if (command !== 'run' || args.some((a) => a === '-h' || a === '--help' || a === '--dry-run'))
    return undefined;
  let jobs: string | undefined;
  args.forEach((a, i) => {
    if (a === '-j' || a === '--jobs') jobs = args[i + 1];
    else if (a.startsWith('--jobs=')) jobs = a.slice('--jobs='.length);
    else if (/^-j(\d+|auto)$/i.test(a)) jobs = a.slice(2);
  });
  const n = jobsValue(jobs);
  return n !== undefined && n > 1 ? n : undefined;
}

/** Fork the workers a `run -j n` command line will want (n − 1 of them, at most one per core). */
export function prefork(argv: readonly string[]): void {
  const jobs = jobsOf(argv);
  if (!jobs || process.env.REGIMES_NO_PREFORK) return;
  const registryModule = join(dirname(fileURLToPath(import.meta.url)), 'defaults.js');
  const workerFile = join(
    dirname(fileURLToPath(import.meta.resolve('@regimes/core'))),
    'engine',
    'worker.js',
  );
  // as pool.ts sets it for its workers: each process's BLAS gets its share of the cores
  const threads =
    process.env.OPENBLAS_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / jobs)));
  const count = Math.min(jobs, availableParallelism()) - 1;
  const forked: Preforked[] = [];
  for (let i = 0; i < count; i++) {
    const child = fork(workerFile, [registryModule], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: threads },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // a fork that fails is simply not adopted
    child.once('error', () => {});
    child.unref();
    (child as { channel?: { unref(): void } }).channel?.unref();
    forked.push({ child, registryModule, threads });
  }
  (globalThis as Record<symbol, unknown>)[PREFORKED] = forked;
}
