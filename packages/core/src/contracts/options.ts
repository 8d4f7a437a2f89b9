/**
 * Option schemas and the messages their failures give. Plugins build their option schema with
 * `options({...})` so that a misspelt key is rejected with the list of allowed keys and the
 * nearest one.
 */
import { z } from '../../deps/zod.js';
import { closestMatch } from '../registry/closest.js';
import { definition, objectExample, schemaText, unwrap } from './schema-text.js';

export function unknownKeysMessage(keys: readonly string[], allowed: readonly string[]): string {
  const parts = keys.map((key) => {
    const near = closestMatch(key, allowed);
    return near ? `'${key}' (did you mean '${near}'?)` : `'${key}'`;
  });
  return `unknown field${keys.length > 1 ? 's' : ''} ${parts.join(', ')}; allowed: ${allowed.join(', ') || '(none)'}`;
}

/** A strict object schema whose unknown-key error lists what is allowed. */
export function options<T extends z.ZodRawShape>(shape: T, description?: string) {
  const allowed = Object.keys(shape);
  const schema = z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? unknownKeysMessage(issue.keys, allowed) : undefined,
  });
  return description ? schema.describe(description) : schema;
}

export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

const NON_FINITE = '\u2063'; // invisible separator: a marker JSON.stringify leaves as it is

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  // NaN and ±Infinity inside a list or object print as themselves, not as JSON's null
  const text = JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? `${NON_FINITE}${v}${NON_FINITE}` : v,
  )?.replace(new RegExp(`"${NON_FINITE}([^"]*)${NON_FINITE}"`, 'g'), '$1');
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * The parse's error map: where zod would say only "Invalid input" or name a type ("expected object"),
 * say what the field takes, read from its schema — every form of a union, an object's fields, a
 * strict object's allowed keys (for any strict object, not only those built with `options()`), a
 * bound in words. A schema's own `error` still wins.
 */
function errorText(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'too_small' || issue.code === 'too_big') return boundText(issue);
  const def = definition(issue.inst);
  if (!def) return undefined;
  if (def.check)
    return def.check === 'number_format' && /int/.test(String(def.format))
      ? 'expected an integer'
      : undefined;
  switch (issue.code) {
    case 'invalid_value': // an enum or a literal: its values as union texts write them
    case 'invalid_union':
    case 'invalid_type': {
      const example = objectExample(issue.inst, issue.input);
      let text = schemaText(issue.inst);
      if (text.length > 200) text = schemaText(issue.inst, 2); // nested forms: their kinds only
      return `expected ${text}${example ? `, such as ${example}` : ''}`;
    }
    case 'unrecognized_keys':
      return def.type === 'object'
        ? unknownKeysMessage(issue.keys, Object.keys(def.shape as Record<string, unknown>))
        : undefined;
    default:
      return undefined;
  }
}

/** A bound missed, in words: `must be ≥ 1`, `takes at most 2 items`, `must not be empty`. */
function boundText(
  issue: z.core.$ZodRawIssue<z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig>,
): string | undefined {
  const small = issue.code === 'too_small';
  const bound = Number(
    small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum,
  );
  const inclusive = issue.inclusive !== false;
  if (issue.origin === 'number' || issue.origin === 'int')
    return `must be ${small ? (inclusive ? '≥' : '>') : inclusive ? '≤' : '<'} ${bound}`;
  const unit =
    issue.origin === 'string'
      ? 'character'
      : issue.origin === 'array' || issue.origin === 'set'
        ? 'item'
        : '';
  if (!unit) return undefined;
  const count = inclusive ? bound : small ? bound + 1 : bound - 1;
  if (small && count === 1) return 'must not be empty';
  return `takes ${small ? 'at least' : 'at most'} ${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** A union branch that failed on the value's kind (a list given to a number, an array to an enum), not its content. */
function missesByKind(branch: readonly z.core.$ZodIssue[], input: unknown): boolean {
  const root = branch.find((e) => e.path.length === 0);
  if (!root) return false;
  if (root.code === 'invalid_type') return true;
  return root.code === 'invalid_value' && !root.values.some((v) => typeof v === typeof input);
}

/** One line per problem: `path: what is wrong (got value)`, with did-you-mean for enum strings. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string[] {
  // one problem with a value per path: 1e300 for a seed is not an integer and too big; say the first
  const valueCodes = new Set(['invalid_type', 'too_small', 'too_big', 'not_multiple_of', 'invalid_format']);
  const seen = new Set<string>();
  const first = issues.filter((issue) => {
    if (!valueCodes.has(issue.code)) return true;
    const key = JSON.stringify(issue.path.map(String));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return first.flatMap((issue) => {
    const where = formatPath(issue.path, prefix);
    const input = (issue as { input?: unknown }).input;
    let message = issue.message.replace(/^Invalid (input|option): /, '');
    // NaN and ±Infinity (YAML's .nan, .inf) are numbers no option takes: say so, not which branch missed
    if (typeof input === 'number' && !Number.isFinite(input))
      return `${where}: ${show(input)} is not a finite number; give a finite value`;
    if (issue.code === 'invalid_union' && issue.errors.length) {
      // report the one branch that takes this kind of value (an object for a range, an array for a
      // list), unless that is a string missing an enum's values and other forms exist (`split: half`
      // might have meant a number): then every form, with did-you-mean over the enums' values
      let fitting = issue.errors.filter((branch) => branch.length && !missesByKind(branch, input));
      // of several objects, the one whose keys the value uses (`{ he: two }`: he's branch, not hermite's)
      const keysFit = fitting.filter(
        (branch) => !branch.some((e) => e.code === 'unrecognized_keys' && !e.path.length),
      );
      if (fitting.length > 1 && keysFit.length === 1) fitting = keysFit;
      const enumMiss =
        fitting.length === 1 && fitting[0]!.some((e) => e.code === 'invalid_value' && !e.path.length);
      if (fitting.length === 1 && !(enumMiss && issue.errors.length > 1))
        return formatIssues(
          fitting[0]!.map((e) => ({ ...e, path: [...issue.path, ...e.path] }) as z.core.$ZodIssue),
          prefix,
        );
      const values = issue.errors.flatMap((branch) =>
        branch.flatMap((e) => (e.code === 'invalid_value' && !e.path.length ? e.values : [])),
      );
      return `${where}: ${message}${valueNear(input, values) || keyNear(input, issue.errors)}, got ${show(input)}`;
    }
    if (issue.code === 'invalid_type' && input === undefined) {
      message = `required field is missing (${message})`;
    } else if (issue.code === 'invalid_value' && typeof input === 'string') {
      message += `${valueNear(input, issue.values)}, got ${show(input)}`;
    } else if (
      issue.code !== 'unrecognized_keys' &&
      issue.code !== 'custom' &&
      // a field no value fits (z.never(): a removed or renamed option) says its own words
      !(issue.code === 'invalid_type' && issue.expected === 'never') &&
      input !== undefined
    ) {
      message += `, got ${show(input)}`;
    }
    return `${where}: ${message}`;
  });
}

/** For a string none of the values takes: ` (did you mean 'gcv'?)` where one is near it, else ''. */
function valueNear(input: unknown, values: readonly unknown[]): string {
  if (typeof input !== 'string') return '';
  const near = closestMatch(
    input,
    values.filter((v): v is string => typeof v === 'string'),
  );
  return near ? ` (did you mean '${near}'?)` : '';
}

/**
 * For an object no form of a union takes: ` (did you mean 'hermite' for 'hermit'?)` where one of
 * its keys is near a key some form wants (the first key of a path the forms' issues name), else ''.
 */
function keyNear(input: unknown, branches: readonly (readonly z.core.$ZodIssue[])[]): string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return '';
  const wanted = new Set(
    branches.flatMap((branch) => branch.flatMap((e) => (typeof e.path[0] === 'string' ? [e.path[0]] : []))),
  );
  for (const key of Object.keys(input)) {
    if (wanted.has(key)) continue;
    const near = closestMatch(key, wanted);
    if (near) return ` (did you mean '${near}' for '${key}'?)`;
  }
  return '';
}

/**
 * The option names an object schema takes, or undefined where it takes any (a loose object) or is
 * not an object: what a sweep key or a learner's own sweep may name.
 */
export function optionNames(schema: unknown): string[] | undefined {
  const def = definition(schema);
  if (def?.type !== 'object') return undefined;
  const catchall = definition(def.catchall);
  if (catchall && catchall.type !== 'never') return undefined;
  return Object.keys(def.shape as Record<string, unknown>);
}

/** Whether an object schema's field takes a list in one of its forms (ridge's list of λ), as far as its definition says. */
export function fieldTakesList(schema: unknown, field: string): boolean {
  const def = unwrap(schema);
  const inner = def?.type === 'object' ? unwrap((def.shape as Record<string, unknown>)[field]) : undefined;
  if (!inner) return false;
  const forms = inner.type === 'union' ? (inner.options as unknown[]).map(unwrap) : [inner];
  return forms.some(
    (form) =>
      form?.type === 'array' || form?.type === 'tuple' || form?.type === 'any' || form?.type === 'unknown',
  );
}

/** Parse with a schema; on failure return the formatted problems instead of throwing. */
export function parseOptions<T>(
  schema: z.ZodType<T>,
  value: unknown,
  prefix = '',
): { ok: true; value: T } | { ok: false; problems: string[] } {
  const result = schema.safeParse(value, { reportInput: true, error: errorText });
  if (result.success) return { ok: true, value: result.data };
  // a refinement (a custom issue) runs on the values as given, also where one of them failed its
  // own check: `width must be even` beside `width: must be ≥ 2`, or `r (1) must be at most d (0)`
  // beside `d: must be ≥ 1`, only repeats that failure. Such a line waits while a field it is at or
  // names as a word has failed; a refinement of other fields (an expression that does not parse
  // beside a negative noise) is reported at once
  const { issues } = result.error;
  const failed = new Set(
    issues
      .filter((issue) => issue.code !== 'custom' && issue.path.length)
      .map((issue) => String(issue.path[0])),
  );
  const reads = (issue: z.core.$ZodIssue) =>
    (issue.path.length > 0 && failed.has(String(issue.path[0]))) ||
    [...failed].some((field) =>
      new RegExp(`(^|[^\\w.])${field.replace(/[^\w]/g, '\\$&')}([^\\w]|$)`).test(issue.message),
    );
  const shown = issues.filter((issue) => issue.code !== 'custom' || !reads(issue));
  return { ok: false, problems: formatIssues(shown, prefix) };
}
