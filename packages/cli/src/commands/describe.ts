/**
 * `regimes describe SPEC`: what each distinct target of a spec is, before anything runs — d, k, r,
 * Var f*, the noise, the Hermite energies by degree (with their shares) and, for a classifier, the
 * Bayes error; so a target that is trivial (a staircase of one step) shows before the run.
 */
import { type Cell, closestMatch, extensionPointNames, RegimesError, Rng, type Target } from '@regimes/core';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { withoutFields } from '../kinds/describe.js';
import { counted } from '../words.js';
import { planSpec, pluginOption, type PluginFlags } from './shared.js';

export function registerDescribe(program: Command): void {
  program
    .command('describe')
    .description(
      'print each target of a spec: d, r, Var f*, its Hermite energies by degree (runs nothing); given a kind, its options',
    )
    .argument('<spec>', 'spec file (YAML or JSON), or the name of a registered kind (rf, hermite, ...)')
    .addOption(pluginOption())
    .action(async (specPath: string, flags: PluginFlags) => {
      // `regimes describe rf`: a kind's name, not a file, gets what `regimes list` says of it
      if (!existsSync(specPath) && /^[A-Za-z0-9_-]+$/.test(specPath)) {
        const [{ registryWith }, { kindLines }] = await Promise.all([
          import('../kinds/registry.js'),
          import('../kinds/describe.js'),
        ]);
        const kinds = await registryWith(flags.plugin);
        const points = extensionPointNames.filter((p) => kinds.has(p, specPath));
        if (points.length) {
          const lines = points.flatMap((p) => [`${p}:`, ...kindLines(kinds, p, kinds.get(p, specPath))]);
          process.stdout.write(`${lines.join('\n')}\n`);
          return;
        }
        const near = closestMatch(
          specPath,
          extensionPointNames.flatMap((p) => kinds.kinds(p)),
        );
        if (near)
          throw new RegimesError(
            `'${specPath}' is neither a spec file nor a registered kind (did you mean '${near}'?)`,
            {
              hint: `regimes describe ${near} prints its options; regimes list prints every kind's`,
            },
          );
      }
      const { plan, registry } = await planSpec(specPath, flags.plugin);
      for (const { cell, count } of distinctTargets(plan.cells)) {
        const factory = registry.get('target', cell.target.kind);
        const target = factory.create(cell.target.options, { rng: Rng.fromSeed(cell.seed).child('target') });
        const unused = Object.keys(factory.unused?.(cell.target.options) ?? {});
        process.stdout.write(`${describeTarget(cell, count, target, unused)}\n`);
      }
    });
}

/** The first cell of each distinct target entry, and how many cells share it. */
function distinctTargets(cells: readonly Cell[]): { cell: Cell; count: number }[] {
  const seen = new Map<string, { cell: Cell; count: number }>();
  for (const cell of cells) {
    const id = JSON.stringify(cell.target);
    const entry = seen.get(id);
    if (entry) entry.count++;
    else seen.set(id, { cell, count: 1 });
  }
  return [...seen.values()];
}

const fmt = (v: number) =>
  v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3);

/** One target as text: its entry, sizes, variance and energies by degree. */
export function describeTarget(cell: Cell, count: number, target: Target, unused: string[] = []): string {
  const s = target.structure;
  // the options as a spec would take them back: without those that have no effect, also nested
  // ones (transfer's destination.degree beside an expression)
  const options = withoutFields(cell.target.options as Record<string, unknown>, unused);
  const kind = cell.target.kind;
  const lines = [
    `target ${kind} ${JSON.stringify(options)}`,
    `  ${counted(count, 'cell')}; described at seed ${cell.seed} (cell ${cell.key})`,
    `  d = ${target.dim}, outputs k = ${target.outputDim}${s.subspaceRank !== undefined ? `, r = ${s.subspaceRank}` : ''}`,
  ];
  const energy = s.hermiteEnergy;
  if (energy) {
    const tail = s.hermiteTail ?? 0;
    const variance = energy.slice(1).reduce((a, b) => a + b, 0) + tail;
    lines.push(
      `  Var f* = ${fmt(variance)}, mean² = ${fmt(energy[0] ?? 0)}, noise variance = ${fmt(s.noiseVariance ?? 0)}`,
    );
    const degrees = energy.map((_, k) => String(k));
    const cells = energy.map((e) => fmt(e));
    const shares = energy.map((e, k) =>
      k === 0 || variance === 0 ? '' : `${((100 * e) / variance).toFixed(1)}%`,
    );
    if (tail > 0) {
      degrees.push(`>${energy.length - 1}`);
      cells.push(fmt(tail));
      shares.push(variance ? `${((100 * tail) / variance).toFixed(1)}%` : '');
    }
    const width = Math.max(...[...degrees, ...cells, ...shares].map((c) => c.length)) + 2;
    const row = (label: string, values: string[]) =>
      `    ${label.padEnd(8)}${values.map((v) => v.padStart(width)).join('')}`;
    lines.push(
      `  Hermite energies ‖P_k f*‖² (${s.hermiteMethod ?? 'exact'}):`,
      row('degree', degrees),
      row('energy', cells),
      row('share', shares),
    );
    const top = energy.reduce((best, e, k) => (k > 0 && e > 0 ? k : best), 0);
    if (top <= 1 && tail === 0)
      lines.push('  note: f* is linear (no energy above degree 1): every learner of the spec can fit it');
  } else {
    // a classifier's labels are ±1: E y² = 1 = E f*² + the noise variance (E f* = 0 when balanced)
    const meanSquare =
      s.bayesError !== undefined && s.noiseVariance !== undefined
        ? `E f*² = ${fmt(1 - s.noiseVariance)} (labels ±1: 1 − the noise variance), `
        : '';
    lines.push(
      `  ${meanSquare}noise variance = ${fmt(s.noiseVariance ?? 0)}; no Hermite expansion known for this kind`,
    );
  }
  if (s.bayesError !== undefined) lines.push(`  Bayes error = ${fmt(s.bayesError)}`);
  return lines.join('\n');
}
