/**
 * What a zod schema takes, in words, read from its definition: the text a spec error gives where a
 * value fits none of a field's forms (`expected a number ≥ 0, a non-empty list of numbers ≥ 0 or
 * 'gcv' | 'loo'`) or has the wrong type (`expected { kind: a non-empty string, … }`).
 */

interface Def {
  readonly type: string;
  readonly check?: string;
  readonly [key: string]: unknown;
}

/** The definition zod 4 keeps on every schema and check (`schema._zod.def`). */
export function definition(schema: unknown): Def | undefined {
  const zod = (schema as { _zod?: { def?: Def } } | undefined)?._zod;
  return zod?.def;
}

const quote = (value: unknown) => (typeof value === 'string' ? `'${value}'` : String(value));

/** "A", "A or B", "A, B or C". */
export function alternatives(texts: readonly string[]): string {
  return texts.length <= 1 ? (texts[0] ?? '') : `${texts.slice(0, -1).join(', ')} or ${texts.at(-1)!}`;
}

interface Bound {
  readonly value: number;
  readonly inclusive: boolean;
}

function numberText(def: Def, plural: boolean): string {
  let integer = false;
  let low: Bound | undefined;
  let high: Bound | undefined;
  for (const check of (def.checks as unknown[] | undefined) ?? []) {
    const c = definition(check);
    if (c?.check === 'number_format' && /int/.test(String(c.format))) integer = true;
    if (c?.check === 'greater_than') low = { value: c.value as number, inclusive: c.inclusive as boolean };
    if (c?.check === 'less_than' && !(c.value === Number.MAX_SAFE_INTEGER && c.inclusive))
      high = { value: c.value as number, inclusive: c.inclusive as boolean }; // `.max(MAX_SAFE_INTEGER)` says nothing to a user
  }
  const noun = integer ? (plural ? 'integers' : 'an integer') : plural ? 'numbers' : 'a number';
  const positive = low && (low.inclusive ? low.value === 1 : low.value === 0);
  if (integer && positive && !high) return plural ? 'positive integers' : 'a positive integer';
  if (low && high)
    return `${noun} in ${low.inclusive ? '[' : '('}${low.value}, ${high.value}${high.inclusive ? ']' : ')'}`;
  if (low) return `${noun} ${low.inclusive ? '≥' : '>'} ${low.value}`;
  if (high) return `${noun} ${high.inclusive ? '≤' : '<'} ${high.value}`;
  return noun;
}

function minLength(def: Def): number {
  let min = 0;
  for (const check of (def.checks as unknown[] | undefined) ?? []) {
    const c = definition(check);
    if (c?.check === 'min_length') min = Math.max(min, c.minimum as number);
  }
  return min;
}

function stringText(def: Def, plural: boolean): string {
  if (minLength(def) > 0) return plural ? 'non-empty strings' : 'a non-empty string';
  return plural ? 'strings' : 'a string';
}

/** The wrappers whose value is their inner schema's. */
const wrappers = new Set(['optional', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

/** A type's definition with optional / default / readonly wrappers and a pipe's output side removed. */
export function unwrap(schema: unknown): Def | undefined {
  let def = definition(schema);
  for (let i = 0; def && i < 16; i++) {
    if (wrappers.has(def.type)) def = definition(def.innerType);
    else if (def.type === 'pipe') def = definition(def.in);
    else break;
  }
  return def;
}

function listText(def: Def, depth: number): string {
  const element = unwrap(def.element);
  const list = minLength(def) > 0 ? 'a non-empty list' : 'a list';
  if (element?.type === 'number') return `${list} of ${numberText(element, true)}`;
  if (element?.type === 'string') return `${list} of ${stringText(element, true)}`;
  if (element?.type === 'boolean') return `${list} of booleans`;
  return depth > 1 ? list : `${list}, each ${schemaText(def.element, depth + 1)}`;
}

function objectText(def: Def, depth: number): string {
  const shape = (def.shape ?? {}) as Record<string, unknown>;
  const keys = Object.keys(shape);
  const loose = definition(def.catchall)?.type !== undefined && definition(def.catchall)?.type !== 'never';
  if (depth > 1 || keys.length === 0) return 'an object';
  if (keys.length > 3)
    return `an object with fields ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}`;
  const fields = keys.map((key) => {
    const optional = ['optional', 'default', 'prefault'].includes(definition(shape[key])?.type ?? '');
    return `${key}${optional ? '?' : ''}: ${schemaText(shape[key], depth + 1)}`;
  });
  return `{ ${fields.join(', ')}${loose ? ', …' : ''} }`;
}

/**
 * What the schema takes, in words; `depth` limits how far into objects and lists it reads (from 2 on,
 * only their kind: 'an object', 'a list').
 */
export function schemaText(schema: unknown, depth = 0): string {
  const def = unwrap(schema);
  const description = (schema as { description?: string } | undefined)?.description;
  switch (def?.type) {
    case 'number':
      return numberText(def, false);
    case 'string':
      return stringText(def, false);
    case 'boolean':
      return 'a boolean';
    case 'null':
      return 'null';
    case 'nullable':
      return `${schemaText(def.innerType, depth)} or null`;
    case 'enum':
      return Object.values(def.entries as Record<string, unknown>)
        .map(quote)
        .join(' | ');
    case 'literal':
      return (def.values as unknown[]).map(quote).join(' | ');
    case 'array':
      return listText(def, depth);
    case 'tuple':
      return `[${(def.items as unknown[]).map((item) => schemaText(item, depth + 1)).join(', ')}]`;
    case 'object':
      return objectText(def, depth);
    case 'record':
      return depth > 1 ? 'a map' : `a map from names to ${schemaText(def.valueType, depth + 1)}`;
    case 'lazy': // a recursive schema: each step through it goes one level deeper, so the text ends
      return depth > 3 ? 'a value' : schemaText((def.getter as () => unknown)(), depth + 1);
    case 'union':
      return alternatives((def.options as unknown[]).map((option) => schemaText(option, depth)));
    default:
      return description ?? def?.type ?? 'a value';
  }
}

/**
 * For a primitive given where an object is expected, the object it probably meant: `{ kind: hermite }`
 * for a string where the object has a `kind`, `{ n: 1024 }` where the object has one field.
 */
export function objectExample(schema: unknown, input: unknown): string | undefined {
  const def = unwrap(schema);
  if (def?.type !== 'object' || input === null || typeof input === 'object' || input === undefined) return;
  const keys = Object.keys((def.shape ?? {}) as Record<string, unknown>);
  const show = typeof input === 'string' ? input : JSON.stringify(input);
  if (keys.includes('kind') && typeof input === 'string')
    return `{ kind: ${show}${keys.length > 1 ? ', …' : ''} }`;
  if (keys.length === 1) return `{ ${keys[0]!}: ${show} }`;
  return undefined;
}
