/** Text for `regimes list`: each kind with its options, from the zod schemas the plugins register. */
import {
  type Cell,
  type ExtensionPoint,
  type KindFactory,
  type Plan,
  type Registry,
  Rng,
  rowCount,
  shardCells,
  z,
} from '@regimes/core';

interface JsonSchemaProperty {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchemaProperty[];
  properties?: Record<string, JsonSchemaProperty>;
  items?: JsonSchemaProperty;
}

function describeType(p: JsonSchemaProperty): string {
  if (p.enum) return p.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (p.anyOf) return p.anyOf.map(describeType).join(' | ');
  if (p.type === 'object' && p.properties) return `{ ${Object.keys(p.properties).join(', ')} }`;
  if (p.type === 'array' && p.items) return `${describeType(p.items)}[]`;
  const type = Array.isArray(p.type) ? p.type.join(' | ') : (p.type ?? 'any');
  const low = p.minimum !== undefined && p.minimum > Number.MIN_SAFE_INTEGER ? p.minimum : undefined;
  const high = p.maximum !== undefined && p.maximum < Number.MAX_SAFE_INTEGER ? p.maximum : undefined;
  const range =
    low !== undefined && high !== undefined
      ? ` in [${low}, ${high}]`
      : low !== undefined
        ? ` >= ${low}`
        : high !== undefined
          ? ` <= ${high}`
          : '';
  return type + range;
}

export function describeOptions(factory: KindFactory): string[] {
  const schema = z.toJSONSchema(factory.options, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchemaProperty>;
    required?: string[];
  };
  return Object.entries(schema.properties ?? {}).map(([name, p]) => {
    const required = schema.required?.includes(name) && p.default === undefined;
    const extra = [required ? 'required' : `default ${JSON.stringify(p.default)}`, p.description].filter(
      Boolean,
    );
    return `${name}: ${describeType(p)} (${extra.join('; ')})`;
  });
}

export const pointNames: Record<string, ExtensionPoint> = {
  targets: 'target',
  learners: 'learner',
  metrics: 'metric',
  backends: 'backend',
};

export function listKinds(registry: Registry, points: ExtensionPoint[]): string {
  const out: string[] = [];
  for (const point of points) {
    out.push(`${point}s:`);
    for (const factory of registry.all(point)) {
      const owner = registry.plugins.find((p) => p.kinds[point].includes(factory.kind))?.manifest.name ?? '';
      out.push(`  ${factory.kind} — ${factory.description}${owner ? ` [${owner}]` : ''}`);
      const opts = describeOptions(factory);
      for (const line of opts) out.push(`      ${line}`);
      if (!opts.length) out.push('      (no options)');
    }
    out.push('');
  }
  return out.join('\n');
}

const gflop = (f: number) =>
  f >= 1e12 ? `${(f / 1e12).toFixed(1)} TFLOP` : `${(f / 1e9).toPrecision(3)} GFLOP`;
const mib = (b: number) =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${Math.ceil(b / 2 ** 20)} MiB`;

/** Text for `regimes run --dry-run`: the cells, and the work their learners estimate. */
export function describePlan(
  plan: Plan,
  registry: Registry,
  shard?: { index: number; count: number },
): string {
  const cells = shardCells(plan.cells, shard);
  const rows = rowCount(cells);
  const out: string[] = [
    `spec ${plan.spec.name} (hash ${plan.specHash}): ${plan.cells.length} cells` +
      (shard ? `; shard ${shard.index}/${shard.count} takes ${cells.length}` : '') +
      `, ${rows} (cell, learner) rows, test n = ${plan.spec.test.n}`,
    '',
    'cells (learners):',
  ];
  const shown = cells.length > 40 ? [...cells.slice(0, 30), undefined, ...cells.slice(-5)] : cells;
  for (const c of shown) {
    out.push(
      c ? `  ${c.key}  (${c.learners.map((l) => l.id).join(', ')})` : `  ... ${cells.length - 35} more`,
    );
  }
  // the target's dimension: its `d` option when it has one, else the target itself (built once per options)
  const dims = new Map<string, { d: number; k: number }>();
  const dimOf = (c: Cell) => {
    const id = JSON.stringify(c.target.options);
    let dim = dims.get(id);
    if (!dim) {
      const t = registry.get('target', c.target.kind).create(c.target.options, { rng: Rng.fromSeed(c.seed) });
      dim = { d: t.dim, k: t.outputDim };
      dims.set(id, dim);
    }
    return dim;
  };
  const perLearner = new Map<string, { rows: number; flops: number; bytes: number; unknown: boolean }>();
  for (const c of cells) {
    const { d, k } = dimOf(c);
    for (const l of c.learners) {
      const base = l.id.replace(/\(.*\)$/, '');
      const entry = perLearner.get(base) ?? { rows: 0, flops: 0, bytes: 0, unknown: false };
      const factory = registry.get('learner', l.kind);
      const e = factory.estimate?.(l.options, { n: c.n, d, k, testN: plan.spec.test.n });
      entry.rows++;
      if (e) {
        entry.flops += e.flops;
        entry.bytes = Math.max(entry.bytes, e.bytes);
      } else entry.unknown = true;
      perLearner.set(base, entry);
    }
  }
  out.push('', 'work estimate (leading-order dense algebra; the real cost is within a small factor):');
  const table = [['learner', 'rows', 'total', 'largest fit holds']];
  let total = 0;
  for (const [id, e] of perLearner) {
    total += e.flops;
    table.push([
      id,
      String(e.rows),
      e.unknown ? '(no estimate)' : gflop(e.flops),
      e.unknown ? '-' : mib(e.bytes),
    ]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) out.push(`  ${r.map((v, i) => v.padEnd(widths[i]!)).join('  ')}`.trimEnd());
  out.push(
    `  all: ${gflop(total)}; seconds ≈ GFLOP ÷ the backend's GFLOP/s (\`regimes backends\` measures it), a lower bound`,
    '',
  );
  return out.join('\n');
}
