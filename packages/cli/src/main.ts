/** The `regimes` command. Data go to stdout and files; progress and errors to stderr. */
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import {
  activateBackend,
  type ExtensionPoint,
  loadPlugins,
  loadSpecFile,
  type Plan,
  planExperiment,
  probeBackends,
  RegimesError,
  type ResultRow,
  rowCount,
  runExperiment,
  type Spec,
} from '@regimes/core';
import { gemmFigure } from './backends/gemm.js';
import { formatSummary, summarize } from './results/summary.js';
import { mergeResults } from './results/merge.js';
import { specJsonSchema } from './kinds/schema.js';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createRegistry, registryModulePath } from './defaults.js';
import { describePlan, listKinds, pointNames } from './kinds/describe.js';
import { ProgressDisplay } from './run/progress.js';
import { registerPlotCommands } from './commands/plot.js';

const EXIT_ERROR = 1;
/** The run finished, but some rows failed (status error or diverged). */
const EXIT_FAILED_ROWS = 3;

function progressLine(row: ResultRow, done: number, total: number, skipped: boolean): string {
  const metrics = Object.entries(row.metrics)
    .map(([k, v]) => `${k}=${Number(v).toPrecision(4)}`)
    .join(' ');
  const status = skipped ? 'resumed' : row.status === 'ok' ? `${row.timing.fit_s.toFixed(2)} s` : row.status;
  return `[${done}/${total}] ${row.key}  ${metrics}  (${status})${row.error ? `: ${row.error}` : ''}`;
}

async function registryFor(plugins: string[], baseDir: string) {
  const registry = createRegistry();
  await loadPlugins(registry, plugins, baseDir);
  return registry;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('give a positive integer');
  return n;
}

function shardArg(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count)
    throw new InvalidArgumentError('give i/N with 1 <= i <= N, e.g. --shard 2/8');
  return { index, count };
}

/** Write a file whole or not at all (shards on a shared file system may write at once). */
function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** The spec beside its results, with plugin paths made absolute, for merge and report. */
function writeSpecCopy(outDir: string, spec: Spec, baseDir: string): void {
  const plugins = spec.plugins.map((p) => (p.startsWith('.') || isAbsolute(p) ? resolve(baseDir, p) : p));
  writeAtomic(join(outDir, 'spec.json'), `${JSON.stringify({ ...spec, plugins }, null, 2)}\n`);
}

async function planFor(specPath: string, plugins: string[]): Promise<Plan> {
  const spec = loadSpecFile(specPath);
  const registry = await registryFor(plugins, process.cwd());
  await loadPlugins(registry, spec.plugins, dirname(resolve(specPath)));
  return planExperiment(spec, registry, specPath);
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('regimes')
    .description(
      'experiments on the learning regimes of neural networks: random features, NTK, feature learning',
    )
    .option('--verbose', 'print stack traces of errors')
    .showHelpAfterError();

  program
    .command('run')
    .description(
      'validate and run an experiment spec, appending one row per (cell, learner) to results.jsonl',
    )
    .argument('<spec>', 'spec file (YAML or JSON)')
    .option('-o, --out <dir>', 'output folder (default: runs/<spec name>)')
    .option('-b, --backend <name>', 'backend to use (overrides the spec and REGIMES_BACKEND)')
    .option('--force', 'empty the results file and redo every row (default: resume, skipping rows present)')
    .option('-j, --jobs <n>', 'run cells in n worker processes (rows are the same as with 1)', positiveInt, 1)
    .option(
      '--shard <i/N>',
      'run the i-th of N parts of the sweep (cells i, i+N, ...), into results.shard-<i>-of-<N>.jsonl',
      shardArg,
    )
    .option('--dry-run', 'print the cells and an estimate of the work; run nothing')
    .option('-q, --quiet', 'no progress bar or row lines (the summary is still printed)')
    .addOption(new Option('--plugin <specifier...>', 'extra plugins (package names or paths)').default([]))
    .action(
      async (
        specPath: string,
        opts: {
          out?: string;
          backend?: string;
          force?: boolean;
          quiet?: boolean;
          jobs: number;
          shard?: { index: number; count: number };
          dryRun?: boolean;
          plugin: string[];
        },
      ) => {
        const spec = loadSpecFile(specPath);
        const baseDir = dirname(resolve(specPath));
        const registry = await registryFor(opts.plugin, process.cwd());
        if (opts.dryRun) {
          await loadPlugins(registry, spec.plugins, baseDir);
          const plan = planExperiment(spec, registry, specPath);
          process.stdout.write(describePlan(plan, registry, opts.shard));
          return;
        }
        const outDir = resolve(opts.out ?? join('runs', spec.name));
        const out = join(
          outDir,
          opts.shard ? `results.shard-${opts.shard.index}-of-${opts.shard.count}.jsonl` : 'results.jsonl',
        );
        const display = new ProgressDisplay({
          stream: process.stderr,
          bar: Boolean(process.stderr.isTTY) && !opts.quiet,
          lines: !opts.quiet,
        });
        let result;
        try {
          result = await runExperiment(spec, {
            registry,
            out,
            ...(opts.backend ? { backend: opts.backend } : {}),
            force: opts.force ?? false,
            baseDir,
            source: specPath,
            jobs: opts.jobs,
            ...(opts.shard ? { shard: opts.shard } : {}),
            workers: { registryModule: registryModulePath(), plugins: opts.plugin },
            onStart: (total, resumed) => {
              // the spec is valid and the results file is its own: now its copy may be (re)written
              writeSpecCopy(outDir, spec, baseDir);
              display.start(total, resumed);
            },
            onRow: (row, done, total, skipped) =>
              display.row(progressLine(row, done, total, skipped), done, total, skipped),
            onFitProgress: (key, done, total) => display.fitProgress(key, done, total),
          });
        } finally {
          display.finish();
        }
        process.stdout.write(`${formatSummary(summarize(result.rows))}\n\n`);
        process.stdout.write(
          `${result.rows.length} rows in ${out} (${result.ran} run now, ${result.skipped} resumed, ${result.failed} failed) on backend ${result.backend}` +
            `${opts.shard ? `; shard ${opts.shard.index}/${opts.shard.count}: ${result.cells.length} of ${result.plan.cells.length} cells` : ''}\n`,
        );
        if (result.failed) setExit(EXIT_FAILED_ROWS);
      },
    );

  program
    .command('merge')
    .description(
      'merge the results files of a sharded sweep: one spec only (hash), duplicates and missing cells reported',
    )
    .argument('<inputs...>', 'results files, or folders (their results.shard-*.jsonl)')
    .option('-o, --out <file>', 'merged file (default: <folder>/results.jsonl when one folder is given)')
    .option('--spec <file>', "the spec, to list missing cells (default: the folder's spec.json)")
    .addOption(new Option('--plugin <specifier...>', 'extra plugins (package names or paths)').default([]))
    .action(async (inputs: string[], opts: { out?: string; spec?: string; plugin: string[] }) => {
      const files: string[] = [];
      const folders: string[] = [];
      for (const input of inputs) {
        if (!existsSync(input)) throw new RegimesError(`${input}: no such file or folder`);
        if (statSync(input).isDirectory()) {
          folders.push(input);
          const shards = readdirSync(input)
            .filter((f) => /^results\.shard-\d+-of-\d+\.jsonl$/.test(f))
            .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
          if (!shards.length)
            throw new RegimesError(`${input}: no results.shard-<i>-of-<N>.jsonl files in it`);
          files.push(...shards.map((f) => join(input, f)));
        } else files.push(input);
      }
      const out = opts.out ?? (folders.length === 1 ? join(folders[0]!, 'results.jsonl') : undefined);
      if (!out) throw new RegimesError('say where to write the merged rows', { hint: 'use -o <file>' });
      if (files.some((f) => resolve(f) === resolve(out)))
        throw new RegimesError(`${out} is one of the inputs`, { hint: 'write the merge elsewhere with -o' });
      const specPath = opts.spec ?? folders.map((f) => join(f, 'spec.json')).find((p) => existsSync(p));
      const plan = specPath ? await planFor(specPath, opts.plugin) : undefined;
      const report = mergeResults(files, plan);
      if (report.foreign.length) {
        throw new RegimesError(
          `rows of another spec: ${report.foreign.map((f) => `${f.path}: ${f.rows} row(s) of spec ${f.hash}`).join('; ')}` +
            ` (expected ${report.specHash ?? 'one spec in all files'}); nothing was written`,
          { hint: 'merge only the shards of one spec, or give the right --spec' },
        );
      }
      for (const i of report.inputs)
        if (i.badLines.length)
          process.stderr.write(
            `warning: ${i.path}: ${i.badLines.length} unreadable line(s) (${i.badLines.join(', ')}) skipped: a run killed mid-row; rerun that shard to redo them\n`,
          );
      writeAtomic(out, report.rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
      process.stdout.write(`merged ${report.rows.length} rows from ${files.length} file(s) into ${out}\n`);
      if (report.duplicates.length) {
        process.stdout.write(
          `${report.duplicates.length} row key(s) were in more than one file (kept the last ok row of each), e.g.\n` +
            report.duplicates
              .slice(0, 5)
              .map((d) => `  ${d.key}: ${d.files.join(', ')}\n`)
              .join(''),
        );
      }
      if (!plan) {
        process.stdout.write('no spec found: missing cells not checked (give --spec)\n');
      } else if (report.missing.length) {
        const expected = rowCount(plan.cells);
        process.stdout.write(
          `${report.missing.length} of ${expected} (cell, learner) rows are missing, e.g.\n` +
            report.missing
              .slice(0, 10)
              .map((k) => `  ${k}\n`)
              .join('') +
            'rerun the shards that hold them (a rerun resumes) and merge again\n',
        );
        setExit(EXIT_FAILED_ROWS);
      } else process.stdout.write('every (cell, learner) row of the spec is present\n');
    });

  program
    .command('schema')
    .description("print the spec's JSON Schema, with every registered kind's options (for editors)")
    .addOption(new Option('--plugin <specifier...>', 'extra plugins (package names or paths)').default([]))
    .action(async (opts: { plugin: string[] }) => {
      const registry = await registryFor(opts.plugin, process.cwd());
      process.stdout.write(`${JSON.stringify(specJsonSchema(registry), null, 2)}\n`);
    });

  program
    .command('validate')
    .description('check a spec against the schema and the registered kinds, without running it')
    .argument('<spec>', 'spec file (YAML or JSON)')
    .addOption(new Option('--plugin <specifier...>', 'extra plugins (package names or paths)').default([]))
    .action(async (specPath: string, opts: { plugin: string[] }) => {
      const spec = loadSpecFile(specPath);
      const registry = await registryFor(opts.plugin, process.cwd());
      await loadPlugins(registry, spec.plugins, dirname(resolve(specPath)));
      const plan = planExperiment(spec, registry, specPath);
      const rows = rowCount(plan.cells);
      process.stdout.write(
        `${specPath}: valid; ${plan.cells.length} cells, ${rows} (cell, learner) rows (spec hash ${plan.specHash})\n`,
      );
    });

  program
    .command('list')
    .description('print the registered kinds with their options')
    .argument('[what]', 'targets | learners | metrics | backends (default: all)')
    .addOption(new Option('--plugin <specifier...>', 'extra plugins (package names or paths)').default([]))
    .action(async (what: string | undefined, opts: { plugin: string[] }) => {
      const registry = await registryFor(opts.plugin, process.cwd());
      let points: ExtensionPoint[];
      if (what === undefined) points = ['target', 'learner', 'metric', 'backend'];
      else {
        const point = pointNames[what] ?? pointNames[`${what}s`];
        if (!point)
          throw new RegimesError(`unknown list '${what}'; use one of: ${Object.keys(pointNames).join(', ')}`);
        points = [point];
      }
      process.stdout.write(listKinds(registry, points));
    });

  program
    .command('backends')
    .description(
      'probe every backend: available or not (and why), device, version and a 1-second GEMM figure',
    )
    .option('--no-gemm', 'skip the GEMM figure')
    .action(async (opts: { gemm: boolean }) => {
      const registry = createRegistry();
      for (const report of await probeBackends(registry)) {
        const a = report.availability;
        const state = a.available ? (a.fallback ? 'fallback' : 'available') : 'unavailable';
        let detail = a.available
          ? [a.device, a.version && `v${a.version}`].filter(Boolean).join(', ')
          : a.reason;
        if (a.available && opts.gemm) {
          await activateBackend(registry, report.kind);
          detail += `; GEMM 512² float32: ${(await gemmFigure()).toFixed(1)} GFLOP/s`;
        }
        process.stdout.write(
          `${report.kind.padEnd(12)} ${state.padEnd(12)} priority ${report.priority}  ${detail ?? ''}\n`,
        );
      }
    });

  registerPlotCommands(program);
  return program;
}

/** Run the command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander has printed the message
    const verbose = program.opts().verbose || argv.includes('--verbose');
    if (error instanceof RegimesError) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    } else {
      process.stderr.write(`error: ${(error as Error)?.message ?? String(error)}\n`);
      if (!verbose) process.stderr.write('(run with --verbose for the stack trace)\n');
    }
    if (verbose && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return EXIT_ERROR;
  }
}
