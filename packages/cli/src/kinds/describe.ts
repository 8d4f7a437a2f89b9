/** Text for `regimes list`: each kind with its options, from the zod schemas the plugins register. */
import { type ExtensionPoint, type KindFactory, type Registry, z } from '@regimes/core';

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
