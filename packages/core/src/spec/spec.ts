/**
 * The experiment spec: its schema, reading it from YAML or JSON, and the errors it gives.
 * Kind options are checked later, against the schemas the plugins register (see plan.ts).
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { z } from '../../deps/zod.js';
import { SpecError } from '../contracts/errors.js';
import { yaml } from '../lazy.js';
import { options, parseOptions } from '../contracts/options.js';
import { parseDuration } from './duration.js';
import { isOptionKey, nestedSweepKeys, SweepSchema } from './sweep.js';

export * from './duration.js';

/** A duration in seconds: a number, or a string with a unit (`500ms`, `30s`, `10m`, `2h`). */
const Duration = z
  .union([z.number(), z.string()], {
    error: () => 'expected seconds (a number) or a string with a unit (500ms, 30s, 10m, 2h)',
  })
  .transform((value, ctx) => {
    const parsed = parseDuration(value);
    if (parsed.ok) return parsed.seconds;
    ctx.issues.push({ code: 'custom', message: parsed.problem, input: value });
    return z.NEVER;
  });

const kindEntry = z.looseObject({ kind: z.string().min(1) });

export const SpecSchema = options({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
      'use letters, digits, ".", "_" and "-" (it names the output folder)',
    )
    .default('experiment'),
  description: z.string().optional(),
  /** The replicate seed used when the sweep has no `seed` list. */
  seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  /** A backend kind (`regimes list backends`); absent: the fastest available. */
  backend: z.string().optional(),
  /** Extra plugins: package names or paths relative to the spec file. */
  plugins: z.array(z.string()).default([]),
  target: kindEntry,
  learners: z
    .array(
      kindEntry.extend({
        id: z
          .string()
          .min(1, 'an id is a non-empty name (or leave id out: the kind, numbered where repeated)')
          .regex(/^[^|,=()]*$/, 'an id has no "|", ",", "=", "(" or ")"')
          .optional(),
        /** This learner's own grid, crossed with its options only (the other learners run once per cell). */
        sweep: SweepSchema.optional(),
        /**
         * Time budget of each of this learner's fits, with the measurement of its predictions
         * (seconds, or `30s`, `10m`, `2h`): past it the fit is aborted (its AbortSignal) and, if it
         * does not stop, its process is killed; the fit is an error row and the sweep goes on.
         * Overrides `--timeout`. Not part of the spec's hash: adding one resumes the same results.
         */
        timeout: Duration.optional(),
      }),
    )
    .min(1),
  metrics: z
    .array(z.union([z.string(), kindEntry]))
    .min(1)
    .default(['risk']),
  /**
   * Grid over `n` (required), `seed`, `target.<option>`, `learners[<id or kind>].<option>`: lists,
   * ranges, `zip` groups and derived expressions (see sweep.ts).
   */
  sweep: SweepSchema,
  // two points at least: the metrics' standard errors need a spread (one point gave SE 0)
  test: options({
    n: z.number().int().min(2, 'a test set needs 2 points or more (one has no standard error)').default(4096),
  }).default({ n: 4096 }),
});

export type SpecInput = z.input<typeof SpecSchema>;

export type Spec = z.output<typeof SpecSchema>;

function inOrder<T extends object>(parsed: T, raw: object | undefined): T {
  if (!raw) return parsed;
  return Object.fromEntries(
    Object.keys(raw)
      .filter((k) => k in parsed)
      .map((k) => [k, (parsed as Record<string, unknown>)[k]]),
  ) as T;
}

/** Validate a spec object (from a file or from code). Throws SpecError naming every problem. */
export function parseSpec(input: unknown, source?: string): Spec {
  const parsed = parseOptions(SpecSchema, input);
  if (!parsed.ok) {
    // a sweep nested as objects: say to write dotted keys, in place of what the range schema says of it
    const nested = nestedSweepKeys((input as { sweep?: unknown } | null)?.sweep, 'sweep');
    const paths = nested.map((problem) => problem.slice(0, problem.indexOf(': ')));
    const others = parsed.problems.filter(
      (problem) => !paths.some((path) => problem.startsWith(`${path}:`) || problem.startsWith(`${path}.`)),
    );
    throw new SpecError([...nested, ...others], source ? { source } : {});
  }
  const spec = parsed.value;
  // zod lists declared keys (`zip`) first; a sweep's axes follow the order the user wrote them in
  const raw = input as { sweep?: object; learners?: { sweep?: object }[] };
  spec.sweep = inOrder(spec.sweep, raw.sweep);
  spec.learners.forEach((l, i) => {
    if (l.sweep) l.sweep = inOrder(l.sweep, raw.learners?.[i]?.sweep);
  });
  const zipped = [spec.sweep.zip ?? []].flat().flatMap((g) => Object.keys(g));
  if (!('n' in spec.sweep) && !zipped.includes('n')) {
    // a key that is none of the sweep's heads (N, size) is named: it may be the n meant
    const odd = Object.keys(spec.sweep).filter((k) => k !== 'zip' && k !== 'seed' && !isOptionKey(k));
    const named = odd.length
      ? `; the sweep has ${odd.map((k) => `'${k}'`).join(', ')}, which is no sweep key`
      : '';
    throw new SpecError(
      [`sweep.n: required: the training sample sizes, e.g. sweep: { n: [256, 1024] }${named}`],
      {
        ...(source ? { source } : {}),
      },
    );
  }
  return spec;
}

/** Parse spec text; YAML syntax errors give the line and column. */
export function parseSpecText(text: string, source = 'spec'): Spec {
  return parseSpec(specData(text, source), source);
}

/** The data of spec text, YAML or JSON by the source's extension, not yet validated; syntax errors throw. */
export function specData(text: string, source = 'spec'): unknown {
  let data: unknown;
  if (extname(source).toLowerCase() === '.json') {
    try {
      data = JSON.parse(text);
    } catch (error) {
      markdownFences(text, source);
      // V8 quotes the text near the error, newlines included: one line, and a hint where it is YAML
      const message = jsonPosition((error as Error).message, text).replace(/\s*\n\s*/g, ' ');
      const yamlLike = /^\s*[A-Za-z_][\w-]*\s*:/.test(text);
      throw new SpecError([`JSON syntax error: ${message}`], {
        source,
        ...(yamlLike ? { hint: 'the file reads as YAML: name it .yaml' } : {}),
      });
    }
    // JSON.parse keeps the last of two equal keys without a word; read as YAML (JSON is a subset),
    // the file's repeated keys are found, and refused as in a YAML spec
    const repeated = yaml()
      .parseDocument(text, { prettyErrors: true, uniqueKeys: true })
      .errors.filter((e) => e.code === 'DUPLICATE_KEY');
    if (repeated.length)
      throw new SpecError(
        repeated.map((e) => yamlProblem(e, text)),
        { source },
      );
  } else {
    // merge keys (`<<: *base`) as YAML 1.1 and most YAML tools read them: the anchored map's keys
    // are copied in, and keys written beside `<<` win
    const doc = yaml().parseDocument(text, { prettyErrors: true, uniqueKeys: true, merge: true });
    if (doc.errors.length) {
      markdownFences(text, source);
      // a sweep key with brackets in a { … } map (`{ learners[rf].width: [8] }`) is YAML's flow
      // syntax, not a key: the parser's three lines about it become one that says to quote it
      const lines = text.split('\n');
      const lineStarts = [0];
      for (const l of lines) lineStarts.push(lineStarts.at(-1)! + l.length + 1);
      const bracketed = new Map<number, string[]>();
      for (const e of doc.errors) {
        const line = e.linePos?.[0].line;
        if (line === undefined || bracketed.has(line)) continue;
        // only a key inside { … }: in a block map the same key is valid, and an error on its line is
        // another one (an extra bracket after the value), said as the parser says it
        const keys = [...(lines[line - 1] ?? '').matchAll(BRACKETED_FLOW_KEY)]
          .filter((m) => inFlowMap(text, lineStarts[line - 1]! + m.index! + m[0].indexOf(m[1]!)))
          .map((m) => m[1]!);
        if (keys.length) bracketed.set(line, keys);
      }
      // a plain key written twice on such a line is still named (not the bracketed keys' pieces)
      const plainTwice = (e: { code: string; pos: [number, number] }) =>
        e.code === 'DUPLICATE_KEY' && /^\s*[\w.-]+\s*:/.test(text.slice(e.pos[0]));
      const problems = doc.errors.flatMap((e) => {
        const line = e.linePos?.[0].line;
        return line !== undefined && bracketed.has(line) && !plainTwice(e) ? [] : [yamlProblem(e, text)];
      });
      for (const [line, keys] of bracketed) {
        const [named, quoted] =
          keys.length > 1
            ? [`the keys ${keys.join(', ')} have`, keys.map((k) => `"${k}": …`).join(', ')]
            : [`the key ${keys[0]} has`, `"${keys[0]}": …`];
        problems.push(
          `line ${line}: ${named} brackets, which YAML reads as a list inside { … }: quote ${keys.length > 1 ? 'them' : 'it'} (${quoted}), or write the map one key per line`,
        );
      }
      throw new SpecError(problems, { source, hint: 'fix the YAML syntax at that line' });
    }
    try {
      data = doc.toJS();
    } catch (error) {
      // an alias without its anchor (`*nope`), or with it later, is found only here; under a merge
      // key (`<<: *nope`) the parser says only that merge sources must be maps
      throw new SpecError([aliasBeforeAnchor(text) ?? `YAML: ${(error as Error).message}`], {
        source,
        hint: 'fix the YAML at that name',
      });
    }
  }
  if (data === null || data === undefined)
    throw new SpecError(
      ['the file is empty: a spec needs name, target, learners and sweep (examples/quickstart.yaml is one)'],
      { source },
    );
  // root keys named x-… hold what the spec reuses by anchor (`x-base: &base { kind: rf }`, as in
  // docker compose files): read for their anchors, then left out
  if (typeof data === 'object' && data !== null && !Array.isArray(data))
    data = Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('x-')));
  return data;
}

/** An unquoted key with brackets after `{` or `,` on a line: `learners[rf].width:` in `{ … }`. */
const BRACKETED_FLOW_KEY = /(?:^|[{,])\s*([A-Za-z_][\w.-]*\[[^\]\s,{}]*\][\w.[\]-]*)\s*:/g;

/**
 * Whether `offset` in YAML text lies inside a flow map (`{ … }`, possibly over several lines): the
 * innermost flow collection open there is a map. A bracket counts only where a value can start
 * (after `: `, `- `, `{`, `[`, `,` or an indent), not inside a plain scalar (`name: a run {`);
 * quoted scalars, block scalars (`notes: |` and its indented lines) and comments are skipped.
 */
function inFlowMap(text: string, offset: number): boolean {
  const open: string[] = [];
  const blank = (c: string | undefined) =>
    c === undefined || c === ' ' || c === '\t' || c === '\n' || c === '\r';
  let atStart = true;
  // the text from i to the end of its line
  const lineAt = (i: number) => {
    const end = text.indexOf('\n', i);
    return text.slice(i, end === -1 ? undefined : end);
  };
  for (let i = 0; i < offset; i++) {
    const c = text[i]!;
    if (c === '\n') atStart = true;
    else if (blank(c)) continue;
    else if (c === '#' && blank(text[i - 1])) while (i + 1 < offset && text[i + 1] !== '\n') i++;
    else if (open.length && (c === '}' || c === ']')) {
      open.pop();
      atStart = false;
    } else if (open.length && c === ',') atStart = true;
    else if (c === ':' && (blank(text[i + 1]) || (open.length > 0 && /[,[\]{}]/.test(text[i + 1]!))))
      atStart = true;
    // inside { … } a bracket in a key (`learners[rf].ridge`, what this looks for) pairs with its own
    else if ((c === '{' || c === '[') && (atStart || open.length)) open.push(c);
    else if (!atStart) continue;
    else if ((c === '-' || c === '?') && !open.length && blank(text[i + 1])) continue;
    else if ((c === '|' || c === '>') && !open.length && /^[|>][-+0-9]*[ \t]*(#.*)?$/.test(lineAt(i))) {
      // a block scalar (`notes: |`): its lines, indented past the line it starts on, are text
      const lineStart = text.lastIndexOf('\n', i) + 1;
      const indent = /^[ ]*/.exec(text.slice(lineStart))![0].length;
      let next = text.indexOf('\n', i);
      while (next !== -1 && next < offset) {
        const line = lineAt(next + 1);
        if (line.trim() && /^[ ]*/.exec(line)![0].length <= indent) break;
        next = text.indexOf('\n', next + 1);
      }
      i = next === -1 ? offset : next - 1;
    } else if (c === '"' || c === "'") {
      // to the closing quote ('' is an escaped quote, \" escapes in double quotes)
      for (i++; i < offset; i++) {
        if (c === '"' && text[i] === '\\') i++;
        else if (text[i] === c) {
          if (c === "'" && text[i + 1] === "'") i++;
          else break;
        }
      }
      atStart = false;
    } else atStart = false;
  }
  return open.at(-1) === '{';
}

/** The first alias (`*rf`) whose anchor (`&rf`) is not set before it, with its line and column. */
function aliasBeforeAnchor(text: string): string | undefined {
  const anchors = new Set<string>();
  const lines = text.split('\n');
  for (const [i, line] of lines.entries())
    for (const m of line.replace(/\s#.*$/, '').matchAll(/(^|[\s,[{:])([&*])([^\s,[\]{}]+)/g)) {
      const name = m[3]!;
      if (m[2] === '&') anchors.add(name);
      else if (!anchors.has(name)) {
        const later = lines.slice(i).some((l) => l.includes(`&${name}`));
        return (
          `line ${i + 1}, column ${m.index! + m[1]!.length + 1}: the alias *${name} ` +
          (later ? `comes before its anchor &${name}: set the anchor first` : `has no anchor &${name}`)
        );
      }
    }
  return undefined;
}

/**
 * A spec copied from Markdown with its fence (```yaml … ```), found once the text does not parse:
 * one message, where the parser gives a screenful about the backquotes and the lines after them.
 */
function markdownFences(text: string, source: string): void {
  const lines = text.split('\n');
  const fences = lines.flatMap((line, i) => (/^\s*(```|~~~)/.test(line) ? [i + 1] : []));
  if (fences.length)
    throw new SpecError(
      [
        `line${fences.length > 1 ? 's' : ''} ${fences.join(', ')}: a Markdown code fence (${lines[fences[0]! - 1]!.trim()}), not part of the spec`,
      ],
      { source, hint: 'keep only the lines between the fences: delete the fence lines' },
    );
}

/** A YAML parser error as one line: where, and what (a repeated key named, with what to do). */
function yamlProblem(
  e: {
    code: string;
    message: string;
    pos: [number, number];
    linePos?: [{ line: number; col: number }, ...unknown[]];
  },
  text: string,
): string {
  const at = e.linePos?.[0];
  let message: string;
  if (e.code === 'MULTIPLE_DOCS')
    message = "a spec file holds one YAML document: remove the '---' line, or put each spec in its own file";
  else if (e.code === 'DUPLICATE_KEY') {
    const key = /^\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s:,{}[\]]+))/.exec(text.slice(e.pos[0]));
    let name = key ? (key[1] ?? key[2] ?? key[3]) : undefined;
    if (key?.[1] !== undefined)
      try {
        name = JSON.parse(`"${key[1]}"`) as string; // \u0064 is d
      } catch {
        // as written
      }
    message = `${name !== undefined ? `the key '${name}'` : 'a key'} comes twice in one map: keep one`;
  } else if (/^Unexpected flow-(seq|map)-end token/.test(e.message)) {
    const [close, opening] = e.message.includes('flow-seq-end') ? [']', '['] : ['}', '{'];
    message = `a '${close}' that closes no '${opening}': remove it, or add the '${opening}' it closes`;
  } else message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return `${at ? `line ${at.line}, column ${at.col}: ` : ''}${message}`;
}

/**
 * JSON.parse's "at position N" as a line and column of the text (Node 22's V8 and later follow it
 * with their own "(line L column C)", which this replaces too).
 */
function jsonPosition(message: string, text: string): string {
  const match = / at position (\d+)(?: \(line \d+ column \d+\))?/.exec(message);
  if (!match) return message;
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message.slice(0, match.index)} at line ${line}, column ${column}${message.slice(match.index + match[0].length)}`;
}

/** Why a file could not be read, in words. */
function readFailure(error: NodeJS.ErrnoException): string {
  const words: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'it is a folder, not a file',
    ENOTDIR: 'a part of the path is not a folder',
  };
  return (error.code && words[error.code]) ?? error.message;
}

/** A spec file's text and data (YAML or JSON), not yet validated; throws SpecError when it cannot be read or parsed. */
export function readSpecFile(path: string): { text: string; data: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SpecError([`cannot read the spec ${path}: ${readFailure(error as NodeJS.ErrnoException)}`], {
      hint: `give the path of a spec file (YAML or JSON), relative to ${process.cwd()} or absolute`,
    });
  }
  return { text, data: specData(text, path) };
}

/** Validate what `readSpecFile` read from `path`. A spec without `name` is named after its file. */
export function specOfFile(path: string, file: { text: string; data: unknown }): Spec {
  const spec = parseSpec(file.data, path);
  if (!/^\s*name\s*:/m.test(file.text) && !/"name"\s*:/.test(file.text)) {
    spec.name = basename(path, extname(path)).replace(/[^A-Za-z0-9._-]/g, '-');
  }
  return spec;
}

/** Read and validate a spec file. A spec without `name` is named after its file. */
export function loadSpecFile(path: string): Spec {
  return specOfFile(path, readSpecFile(path));
}
