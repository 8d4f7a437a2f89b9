/** `regimes backends`: probe every registered backend, with a GEMM figure for the available ones. */
import { activateBackend, type BackendReport, probeBackends, type Registry } from '@regimes/core';
import type { Command } from 'commander';
import { registryWith } from '../kinds/registry.js';
import { pluginOption, type PluginFlags } from './shared.js';

interface BackendsFlags extends PluginFlags {
  gemm: boolean;
}

export function registerBackends(program: Command): void {
  program
    .command('backends')
    .description(
      'probe every backend: available or not (and why), device, version and a 1-second GEMM figure',
    )
    .option('--no-gemm', 'skip the GEMM figure')
    .addOption(pluginOption('extra plugins (package names or paths), for their backends'))
    .action(async (flags: BackendsFlags) => {
      const registry = await registryWith(flags.plugin);
      for (const report of await probeBackends(registry))
        process.stdout.write(`${await backendLine(registry, report, flags.gemm)}\n`);
    });
}

/** One backend: kind, state, priority, device and version (or why not), and its GEMM figure. */
async function backendLine(registry: Registry, report: BackendReport, gemm: boolean): Promise<string> {
  const a = report.availability;
  const state = a.available ? (a.fallback ? 'fallback' : 'available') : 'unavailable';
  let detail = a.available ? [a.device, a.version && `v${a.version}`].filter(Boolean).join(', ') : a.reason;
  if (a.available && gemm) {
    await activateBackend(registry, report.kind);
    const { gemmFigure } = await import('../backends/gemm.js');
    detail += `; GEMM 512² float32: ${(await gemmFigure()).toFixed(1)} GFLOP/s`;
  }
  return `${report.kind.padEnd(12)} ${state.padEnd(12)} priority ${report.priority}  ${detail ?? ''}`;
}
