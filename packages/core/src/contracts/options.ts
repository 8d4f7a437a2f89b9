/**
 * Option schemas and the messages their failures give. Plugins build their option schema with
 * `options({...})` so that a misspelt key is rejected with the list of allowed keys and the
 * nearest one.
 */
import { z } from '../../deps/zod.js';
import { closestMatch } from '../registry/closest.js';

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

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** One line per problem: `path: what is wrong (got value)`, with did-you-mean for enum strings. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string[] {
  return issues.flatMap((issue) => {
    const where = formatPath(issue.path, prefix);
    const input = (issue as { input?: unknown }).input;
    let message = issue.message.replace(/^Invalid input: /, '');
    // NaN and ±Infinity (YAML's .nan, .inf) are numbers no option takes: say so, not which branch missed
    if (typeof input === 'number' && !Number.isFinite(input))
      return `${where}: ${show(input)} is not a finite number; give a finite value`;
    if (issue.code === 'invalid_union' && issue.errors.length) {
      // report the branch that took this kind of value (an object for a range, an array for a list)
      const fitting = issue.errors.filter(
        (branch) => branch.length && !branch.some((e) => e.code === 'invalid_type' && e.path.length === 0),
      );
      if (fitting.length === 1 && !(typeof input === 'string' && fitting[0]![0]?.code === 'invalid_value'))
        return formatIssues(
          fitting[0]!.map((e) => ({ ...e, path: [...issue.path, ...e.path] }) as z.core.$ZodIssue),
          prefix,
        );
    }
    if (issue.code === 'invalid_union' && typeof input === 'string') {
      // a string that matches no branch: report the branch that takes strings (an enum), with did-you-mean
      const branch = issue.errors.map((e) => e[0]).find((e) => e?.code === 'invalid_value');
      if (branch)
        return formatIssues([{ ...branch, path: issue.path, input } as z.core.$ZodIssue], prefix)[0]!;
    }
    if (issue.code === 'invalid_type' && input === undefined) {
      message = `required field is missing (${message})`;
    } else if (issue.code === 'invalid_value' && typeof input === 'string') {
      const near = closestMatch(
        input,
        issue.values.filter((v): v is string => typeof v === 'string'),
      );
      message += near ? ` (did you mean '${near}'?)` : '';
      message += `, got ${show(input)}`;
    } else if (issue.code !== 'unrecognized_keys' && issue.code !== 'custom' && input !== undefined) {
      message += `, got ${show(input)}`;
    }
    return `${where}: ${message}`;
  });
}

/** Parse with a schema; on failure return the formatted problems instead of throwing. */
export function parseOptions<T>(
  schema: z.ZodType<T>,
  value: unknown,
  prefix = '',
): { ok: true; value: T } | { ok: false; problems: string[] } {
  const result = schema.safeParse(value, { reportInput: true });
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, problems: formatIssues(result.error.issues, prefix) };
}
