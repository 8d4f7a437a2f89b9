/** `regimes run`: validate a spec and run it into a results file, with progress; or a dry run. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  activateBackend,
  blasThreads,
  type ExperimentResult,
  parseDuration,
  RegimesError,
  type Registry,
  type ResultRow,
  runExperiment,
  type Spec,
} from '@regimes/core';
import { type Command, InvalidArgumentError } from 'commander';
import { registryModulePath } from '../defaults.js';
import { jobsValue } from '../prefork.js';
import { registryWith } from '../kinds/registry.js';
import { resultsFileName, type Shard } from '../results/files.js';
import { refuseOtherSpecs, writeSpecCopy } from '../results/spec-copy.js';
import { formatSummary, summarize } from '../results/summary.js';
import { ProgressDisplay } from '../run/progress.js';
import { appendProvenance, backendDevice, gitCommit, machine } from '../run/provenance.js';
import { counted } from '../words.js';
import {
  EXIT_FAILED_ROWS,
  loadSpec,
  planSpec,
  pluginOption,
  type PluginFlags,
  type SetExit,
} from './shared.js';

interface RunFlags extends PluginFlags {
  out?: string;
  backend?: string;
  force?: boolean;
  quiet?: boolean;
  jobs: number;
  memory?: number;
  timeout?: number;
  retryCrashed?: boolean;
  shard?: Shard;
  dryRun?: boolean;
}

/** A time budget: `30s`, `10m`, `2h`, or seconds. */
export function durationArg(value: string): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.problem);
  return parsed.seconds;
}

function jobsArg(value: string): number {
  const n = jobsValue(value);
  if (n === undefined) throw new InvalidArgumentError('give a positive integer, or auto for one per core');
  return n;
}

/** A size in bytes: `16G`, `512M`, `2T`, or a number of bytes. */
export function memoryArg(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(value.trim());
  const scale = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[(m?.[2] ?? '').toUpperCase()];
  const bytes = m && scale ? Number(m[1]) * scale : Number.NaN;
  if (!(bytes > 0)) throw new InvalidArgumentError('give a size such as 16G, 512M or a number of bytes');
  return bytes;
}

function shardArg(value: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count)
    throw new InvalidArgumentError('give i/N with 1 <= i <= N, e.g. --shard 2/8');
  return { index, count };
}

/** A backend name: not empty (`-b ""` fell back to the default without a word). */
function backendArg(value: string): string {
  if (!value.trim())
    throw new InvalidArgumentError('give a backend name (regimes backends lists them), or leave -b out');
  return value.trim();
}

export function registerRun(program: Command, setExit: SetExit): void {
  program
    .command('run')
    .description(
      'validate and run an experiment spec, appending one row per (cell, learner) to results.jsonl',
    )
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('-o, --out <dir>', 'output folder (default: runs/<spec name>)')
    .option('-b, --backend <name>', 'backend to use (overrides the spec and REGIMES_BACKEND)', backendArg)
    .option('--force', 'empty the results file and redo every row (default: resume, skipping rows present)')
    .option(
      '-j, --jobs <n>',
      'run cells in n processes (auto: one per core): this one and n − 1 workers (n workers with plugins or time budgets); rows are those of 1 at equal BLAS threads (OPENBLAS_NUM_THREADS)',
      jobsArg,
      1,
    )
    .option(
      '--memory <size>',
      'memory the run may use, e.g. 16G (default: what is free at the start); a fit that needs more is refused as an error row',
      memoryArg,
    )
    .option(
      '--timeout <duration>',
      'time budget of each fit without its own `timeout:`, e.g. 30s, 10m, 2h (default: none); past it the fit is aborted, and killed with its worker process if it ignores that; it is an error row',
      durationArg,
    )
    .option(
      '--retry-crashed',
      'rerun the fits that crashed the process running them in an earlier run (default: keep their error rows)',
    )
    .option(
      '--shard <i/N>',
      'run the i-th of N parts of the sweep (cells i, i+N, ...), into results.shard-<i>-of-<N>.jsonl',
      shardArg,
    )
    .option('--dry-run', 'print the cells and an estimate of the work; run nothing')
    .option('-q, --quiet', 'no progress bar or row lines (the summary is still printed)')
    .addOption(pluginOption())
    .action(async (specPath: string, flags: RunFlags) => {
      if (flags.dryRun) return dryRun(specPath, flags);
      const result = await run(specPath, flags);
      if (result.failed) setExit(EXIT_FAILED_ROWS);
    });
}

async function dryRun(specPath: string, flags: RunFlags): Promise<void> {
  const { plan, registry } = await planSpec(specPath, flags.plugin);
  // the backend the run would use, and its half-second GEMM rate: the seconds of the estimate
  const named = flags.backend ?? plan.spec.backend;
  const fromEnvironment = named === undefined && process.env.REGIMES_BACKEND ? 'REGIMES_BACKEND' : undefined;
  const { kind, backend } = await activateBackend(
    registry,
    named ?? (process.env.REGIMES_BACKEND || undefined),
    fromEnvironment,
  );
  const [{ gemmFigure }, { describePlan }] = await Promise.all([
    import('../backends/gemm.js'),
    import('../run/dry-run.js'),
  ]);
  const calibration = {
    backend: kind,
    gflops: await gemmFigure(0.5),
    ...(backend.heapBytes ? { heapBytes: backend.heapBytes } : {}),
  };
  process.stdout.write(describePlan(plan, registry, flags.shard, calibration));
}

async function run(specPath: string, flags: RunFlags): Promise<ExperimentResult> {
  const spec = await loadSpec(specPath, flags.plugin);
  const baseDir = dirname(resolve(specPath));
  const registry = await registryWith(flags.plugin);
  const outDir = resolve(flags.out ?? join('runs', spec.name));
  if (existsSync(outDir) && !statSync(outDir).isDirectory())
    throw new RegimesError(`${outDir} is a file; the run's folder (-o) must be a folder`, {
      hint: `results.jsonl and spec.json are written inside it: e.g. -o ${join(dirname(outDir), 'run')}`,
    });
  const out = join(outDir, resultsFileName(flags.shard));
  const startedAt = new Date().toISOString();
  // the git commits and the machine, looked up while the run runs (child processes, ~0.1 s)
  const where = Promise.all([gitCommit(baseDir), machine()]);
  where.catch(() => {}); // awaited below; a run that throws never reads it
  const result = await runWithProgress(spec, registry, { specPath, baseDir, outDir, out }, flags);
  const [specCommit, host] = await where;
  appendProvenance(
    outDir,
    {
      startedAt,
      finishedAt: new Date().toISOString(),
      command: process.argv.slice(2),
      cwd: process.cwd(),
      spec: spec.name,
      specHash: result.plan.specHash,
      rows: { ran: result.ran, resumed: result.skipped, failed: result.failed },
      specCommit,
      ...host,
      backend: result.backend,
      device: await backendDevice(registry, result.backend),
      jobs: flags.jobs,
      blasThreads:
        process.env.OPENBLAS_NUM_THREADS ?? runThreads(flags.jobs, result.cells.length, host.blasThreads),
    },
    (message) => process.stderr.write(`warning: ${message}\n`),
  );
  process.stdout.write(`${formatSummary(summarize(result.rows))}\n\n`);
  process.stdout.write(`${runTotals(result, out, flags.shard)}\n`);
  return result;
}

interface RunPaths {
  specPath: string;
  /** The spec's folder: its plugins and relative paths are resolved from there. */
  baseDir: string;
  outDir: string;
  /** The results file. */
  out: string;
}

/**
 * The BLAS threads each process of the run had: with --jobs n > 1, the share of the cores the run
 * set for its processes (core's pool: among no more processes than cells), restored after it, so not
 * seen when the machine was looked up; else what the machine had.
 */
function runThreads(jobs: number, cells: number, machine: string): string {
  const processes = Math.min(jobs, cells);
  return processes > 1 ? String(blasThreads(processes)) : machine;
}

/** Run the spec with a progress display on stderr (a bar on a terminal, a line per row). */
async function runWithProgress(
  spec: Spec,
  registry: Registry,
  paths: RunPaths,
  flags: RunFlags,
): Promise<ExperimentResult> {
  const display = new ProgressDisplay({
    stream: process.stderr,
    bar: Boolean(process.stderr.isTTY) && !flags.quiet,
    lines: !flags.quiet,
  });
  try {
    return await runExperiment(spec, {
      registry,
      out: paths.out,
      ...(flags.backend ? { backend: flags.backend } : {}),
      force: flags.force ?? false,
      baseDir: paths.baseDir,
      source: paths.specPath,
      jobs: flags.jobs,
      ...(flags.memory ? { memory: flags.memory } : {}),
      ...(flags.timeout ? { timeout: flags.timeout } : {}),
      ...(flags.retryCrashed ? { retryCrashed: true } : {}),
      ...(flags.shard ? { shard: flags.shard } : {}),
      workers: { registryModule: registryModulePath(), plugins: flags.plugin },
      // the folder's other results files (an unsharded run, other shards) must be this spec's too,
      // or its spec.json would stop describing them: checked before the file is written or emptied
      beforeWriting: (specHashes) =>
        refuseOtherSpecs(paths.outDir, paths.out, specHashes, registry, spec.plugins),
      onStart: (total, resumed) => {
        // the spec is valid and the results file is its own: now its copy may be (re)written
        writeSpecCopy(paths.outDir, spec, paths.baseDir);
        display.start(total, resumed);
      },
      onRow: (row, done, total, skipped) =>
        display.row(progressLine(row, done, total, skipped), done, total, skipped),
      onFitProgress: (key, done, total) => display.fitProgress(key, done, total),
    });
  } finally {
    display.finish();
  }
}

function progressLine(row: ResultRow, done: number, total: number, skipped: boolean): string {
  const metrics = Object.entries(row.metrics)
    .map(([k, v]) => `${k}=${Number(v).toPrecision(4)}`)
    .join(' ');
  const status = skipped ? 'resumed' : row.status === 'ok' ? `${row.timing.fit_s.toFixed(2)} s` : row.status;
  return `[${done}/${total}] ${row.key}  ${metrics}  (${status})${row.error ? `: ${row.error}` : ''}`;
}

/** The last line of a run: rows written, run now, resumed and failed, the backend, the shard. */
function runTotals(result: ExperimentResult, out: string, shard: Shard | undefined): string {
  const counts = `${result.ran} run now, ${result.skipped} resumed, ${result.failed} failed`;
  const part = shard
    ? `; shard ${shard.index}/${shard.count}: ${result.cells.length} of ${counted(result.plan.cells.length, 'cell')}`
    : '';
  return `${counted(result.rows.length, 'row')} in ${out} (${counts}) on backend ${result.backend}${part}`;
}
