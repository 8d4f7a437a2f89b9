/** The `regimes` command. Data go to stdout and files; progress and errors to stderr. */
import { readFileSync } from 'node:fs';
import { RegimesError } from '@regimes/core';
import { Command, CommanderError } from 'commander';
import { registerBackends } from './commands/backends.js';
import { registerDescribe } from './commands/describe.js';
import { registerList } from './commands/list.js';
import { registerMerge } from './commands/merge.js';
import { registerPlot } from './commands/plot.js';
import { registerPlugin } from './commands/plugin.js';
import { registerReport } from './commands/report.js';
import { registerRun } from './commands/run.js';
import { registerSchema } from './commands/schema.js';
import { registerServe } from './commands/serve.js';
import { EXIT_ERROR, type SetExit } from './commands/shared.js';
import { registerValidate } from './commands/validate.js';

/**
 * The program with every subcommand's options; what a subcommand does is imported by its action
 * when it runs (commands/*.ts), so that a `run` does not load the figures, reports or server.
 */
export function buildProgram(setExit: SetExit): Command {
  const program = new Command('regimes')
    .description(
      'experiments on the learning regimes of neural networks: random features, NTK, feature learning',
    )
    .version(cliVersion(), '-V, --version', 'print the version of regimes')
    .option('--verbose', 'print stack traces of errors')
    .showHelpAfterError();
  registerRun(program, setExit);
  registerMerge(program, setExit);
  registerSchema(program);
  registerValidate(program);
  registerDescribe(program);
  registerList(program);
  registerBackends(program);
  registerPlot(program);
  registerReport(program);
  registerServe(program);
  registerPlugin(program);
  return program;
}

/** The @regimes/cli version, from its package.json (dist/main.js sits one folder below it). */
function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return `regimes ${pkg.version} (node ${process.versions.node})`;
}

/**
 * Standard output read by a command that stops early (`regimes schema | head -1`): the write fails
 * with EPIPE, which as an unhandled 'error' event would crash the process with a stack trace. The
 * rest of the output is dropped instead and the command goes on (a run keeps writing its results
 * file); other errors of the stream still throw.
 */
export function dropOutputOnClosedPipe(stream: NodeJS.WriteStream = process.stdout): void {
  if (stream.listenerCount('error') > 0) return;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}

/** Run the command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  dropOutputOnClosedPipe();
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
    reportError(error, Boolean(program.opts().verbose) || argv.includes('--verbose'));
    return EXIT_ERROR;
  }
}

/** An error on stderr: a RegimesError with its hint, else the message (and the stack with --verbose). */
function reportError(error: unknown, verbose: boolean): void {
  if (error instanceof RegimesError) {
    process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
  } else {
    process.stderr.write(`error: ${(error as Error)?.message ?? String(error)}\n`);
    if (!verbose) process.stderr.write('(run with --verbose for the stack trace)\n');
  }
  if (verbose && error instanceof Error) process.stderr.write(`${error.stack}\n`);
}
