/** Text for `regimes list`: each kind with its options, from the zod schemas the plugins register. */
import { type ExtensionPoint, type KindFactory, type Registry, z } from '@regimes/core';

interface JsonSchemaProperty {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchemaProperty[];
  properties?: Record<string, JsonSchemaProperty>;
  items?: JsonSchemaProperty;
}

function describeType(p: JsonSchemaProperty): string {
  if (p.enum) return p.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (p.anyOf) return p.anyOf.map(describeType).join(' | ');
  if (p.type === 'object' && p.properties) return `{ ${Object.keys(p.properties).join(', ')} }`;
  if (p.type === 'array' && p.items) {
    const item = describeType(p.items);
    return /\s/.test(item) ? `(${item})[]` : `${item}[]`;
  }
  const type = Array.isArray(p.type) ? p.type.join(' | ') : (p.type ?? 'any');
  // a bound at the safe integers' edge (`.int()`'s own) says nothing to a user
  const bound = (inclusive: number | undefined, exclusive: number | undefined) =>
    exclusive !== undefined
      ? { value: exclusive, inclusive: false }
      : inclusive !== undefined && Math.abs(inclusive) < Number.MAX_SAFE_INTEGER
        ? { value: inclusive, inclusive: true }
        : undefined;
  const low = bound(p.minimum, p.exclusiveMinimum);
  const high = bound(p.maximum, p.exclusiveMaximum);
  const range =
    low && high
      ? ` in ${low.inclusive ? '[' : '('}${low.value}, ${high.value}${high.inclusive ? ']' : ')'}`
      : low
        ? ` ${low.inclusive ? '>=' : '>'} ${low.value}`
        : high
          ? ` ${high.inclusive ? '<=' : '<'} ${high.value}`
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

/** One kind: its name, description and plugin, then its options, one per line. */
export function kindLines(registry: Registry, point: ExtensionPoint, factory: KindFactory): string[] {
  const owner = registry.plugins.find((p) => p.kinds[point].includes(factory.kind))?.manifest.name ?? '';
  const opts = describeOptions(factory);
  return [
    `  ${factory.kind} — ${factory.description}${owner ? ` [${owner}]` : ''}`,
    ...(opts.length ? opts : ['(no options)']).map((line) => `      ${line}`),
  ];
}

export function listKinds(registry: Registry, points: ExtensionPoint[]): string {
  const out: string[] = [];
  for (const point of points) {
    out.push(`${point}s:`);
    for (const factory of registry.all(point)) out.push(...kindLines(registry, point, factory));
    out.push('');
  }
  return out.join('\n');
}

/**
 * A copy of a kind's entry without the given fields (paths with dots reach nested ones: transfer's
 * `destination.degree`): the options a spec takes back, without those its kind says have no effect.
 */
export function withoutFields(
  entry: Record<string, unknown>,
  fields: Iterable<string>,
): Record<string, unknown> {
  const out = structuredClone(entry);
  for (const field of fields) {
    const path = field.split('.');
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], out);
    if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[path.at(-1)!];
  }
  return out;
}
