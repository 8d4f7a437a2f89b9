/** The `regimes` command. Data go to stdout and files; progress and errors to stderr. */
import { dirname, join, resolve } from 'node:path';
import {
  activateBackend,
  type ExtensionPoint,
  gemmFigure,
  formatSummary,
  loadPlugins,
  loadSpecFile,
  planExperiment,
  probeBackends,
  RegimesError,
  type ResultRow,
  runExperiment,
  summarize,
} from '@regimes/core';
import { Command, CommanderError, Option } from 'commander';
import { createRegistry } from './defaults.js';
import { listKinds, pointNames } from './describe.js';
import { registerPlotCommands } from './plot.js';

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
    .option('-q, --quiet', 'no progress lines')
    .addOption(new Option('--plugin <specifier...>', 'extra plugins (package names or paths)').default([]))
    .action(
      async (
        specPath: string,
        opts: { out?: string; backend?: string; force?: boolean; quiet?: boolean; plugin: string[] },
      ) => {
        const spec = loadSpecFile(specPath);
        const registry = await registryFor(opts.plugin, process.cwd());
        const outDir = resolve(opts.out ?? join('runs', spec.name));
        const out = join(outDir, 'results.jsonl');
        const result = await runExperiment(spec, {
          registry,
          out,
          ...(opts.backend ? { backend: opts.backend } : {}),
          force: opts.force ?? false,
          baseDir: dirname(resolve(specPath)),
          source: specPath,
          onRow: (row, done, total, skipped) => {
            if (!opts.quiet) process.stderr.write(`${progressLine(row, done, total, skipped)}\n`);
          },
        });
        process.stdout.write(`${formatSummary(summarize(result.rows))}\n\n`);
        process.stdout.write(
          `${result.rows.length} rows in ${out} (${result.ran} run now, ${result.skipped} resumed, ${result.failed} failed) on backend ${result.backend}\n`,
        );
        if (result.failed) setExit(EXIT_FAILED_ROWS);
      },
    );

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
      process.stdout.write(
        `${specPath}: valid; ${plan.cells.length} cells × ${spec.learners.length} learners = ${plan.cells.length * spec.learners.length} rows (spec hash ${plan.specHash})\n`,
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
