/** `regimes serve`: a local page of the runs under a folder, updated live as sweeps write. */
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { registryWith } from '../kinds/registry.js';
import { pluginOption, type PluginFlags, warnOnStderr } from './shared.js';

function portArg(value: string): number {
  const v = Number(value);
  if (!(Number.isInteger(v) && v >= 0 && v <= 65535))
    throw new InvalidArgumentError('give a port number from 0 to 65535 (0: any free port)');
  return v;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'a local web page of the runs under DIR: figures, summary, spec, provenance, updated live; compare runs; run small specs in the browser',
    )
    .argument('[dir]', 'folder holding the runs (results.jsonl files, searched below it)', '.')
    .option('--port <port>', 'port to listen on (0: any free port)', portArg, 8177)
    .option('--host <host>', 'address to listen on; default 127.0.0.1 (this machine only)', '127.0.0.1')
    .addOption(pluginOption('extra plugins (for their theory curves)'))
    .action(async (dir: string, flags: PluginFlags & { port: number; host: string }) => {
      const registry = await registryWith(flags.plugin);
      const { serve } = await import('../serve/server.js');
      const serving = await serve({
        dir: resolve(dir),
        host: flags.host,
        port: flags.port,
        registry,
        warn: warnOnStderr,
      });
      if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(flags.host))
        process.stderr.write(
          `warning: listening on ${flags.host}: anyone who can reach this address can read the runs under ${resolve(dir)}\n`,
        );
      process.stdout.write(`serving ${resolve(dir)} at ${serving.url}\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          void serving.close().then(done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
