#!/usr/bin/env node
// How many bad inputs and faults the test suite tries, per class of issue 14 — counted from the test
// files, not typed by hand.
//
//   node scripts/count-bad-inputs.mjs              a summary per class
//   node scripts/count-bad-inputs.mjs --markdown   the table of docs/reliability.md
//   node scripts/count-bad-inputs.mjs --json       the cases, for tests
//   node scripts/count-bad-inputs.mjs --list       every test of the suite with its full name
//
// A case is one test (`it`/`test`) or one row of an `it.each` or `it.for` table: a test that tries five bad
// lines in one file counts once. A test belongs to a class
// - by a comment `// bad-input: <class>` on the line just above its `it` (or above a `describe`,
//   for every test in it), the convention for new tests; or
// - by a selector in SELECTORS below (file and a pattern on the full name `describe > it`), for
//   tests written before the convention.
// A selector that no longer matches any test is an error (exit 1): a renamed or deleted test
// must be reclassified, not silently dropped from the count.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = fileURLToPath(new URL('..', import.meta.url));

export const CLASSES = {
  1: 'Rows lost for good: completeness at the level of the variant, kills, resumes, damaged lines',
  2: 'Two writers and foreign rows: the lock, rows of another spec',
  3: 'Unbounded inputs: sizes, counts and memory bounded before work',
  4: 'Unsupervised plugin code: hanging, exiting or crashing fits, inline plugins',
  5: 'Names every JavaScript object has, and targets that are not finite',
  6: 'Internal messages: every error says what to change',
};

/** Tests written before the `// bad-input:` convention, by file and full name. */
const SELECTORS = [
  // 1: rows lost
  [
    1,
    'packages/core/test/runner.test.ts',
    /^completeness at the level of the variant > reruns a fit whose rows/,
  ],
  [
    1,
    'packages/core/test/runner.test.ts',
    /^runExperiment > resumes: rows already present are skipped, a cut-off row/,
  ],
  [1, 'packages/core/test/runner.test.ts', /^runExperiment > reruns failed rows on resume/],
  [1, 'packages/core/test/runner.test.ts', /^latestRows: the rows that stand > drops a failed fit's row/],
  [1, 'packages/core/test/runner.test.ts', /^latestRows: the rows that stand > tells attempts apart/],
  [1, 'packages/cli/test/api.test.ts', /^a list of ridges > gives one row per λ from one fit/],
  [1, 'packages/cli/test/sweeps.test.ts', /^kill and resume > a sweep killed by SIGKILL mid-way/],
  // 2: two writers, foreign rows
  [2, 'packages/core/test/runner.test.ts', /^one writer per results file > refuses a second run/],
  [2, 'packages/core/test/runner.test.ts', /^runExperiment > refuses to mix rows of another spec/],
  [
    2,
    'packages/core/test/runner.test.ts',
    /^runExperiment > rejects a results file cut in the middle that belongs to another spec/,
  ],
  [
    2,
    'packages/cli/test/sweeps.test.ts',
    /^the spec copy > is written only once the spec is valid and the results file is its own/,
  ],
  // 3: unbounded inputs
  [3, 'packages/core/test/runner.test.ts', /^memory bounded before work starts > refuses a cell whose data/],
  [
    3,
    'packages/core/test/runner.test.ts',
    /^memory bounded before work starts > refuses a fit whose learner's estimate/,
  ],
  [3, 'packages/numerics/test/expression.test.ts', /^parseExpression > refuses a text longer than the limit/],
  [3, 'packages/numerics/test/expression.test.ts', /^parseExpression > refuses a tree deeper than the limit/],
  [
    3,
    'packages/targets/test/targets.test.ts',
    /^hierarchical > refuses sizes whose exact expansion would be too large/,
  ],
  [
    3,
    'packages/numerics/test/eigen.test.ts',
    /is unavailable above .* without a backend kernel, and says so/,
  ],
  [3, 'packages/core/test/rng.test.ts', /^Rng > rejects seeds that are not integers/],
  // 4: plugin code
  [4, 'packages/core/test/registry.test.ts', /^plugin loading from a local path > never runs inline code/],
  [
    4,
    'packages/core/test/registry.test.ts',
    /^plugin loading from a local path > (rejects a plugin with a wrong core range|names the plugin, the file and the reason|says when the entry exports no manifest|says how to install a package)/,
  ],
  [
    4,
    'packages/core/test/registry.test.ts',
    /^Registry > (rejects a plugin registering a kind another plugin has|rejects a manifest of the wrong shape|rejects a plugin built for another core range)/,
  ],
  [
    4,
    'packages/core/test/runner.test.ts',
    /^plugin learners that break the contract > a prediction of the wrong shape, and process\.exit/,
  ],
  [4, 'packages/cli/test/sweeps.test.ts', /^a dead worker > costs the row of the fit it ran/],
  // 5: names every object has, non-finite targets
  [
    5,
    'packages/numerics/test/expression.test.ts',
    /^parseExpression > refuses %j: a name every JavaScript object has/,
  ],
  [5, 'packages/cli/test/api.test.ts', /^a target that is not finite > /],
  [
    5,
    'packages/targets/test/hermite.test.ts',
    /^hermite target: bad input > rejects %s in an expression, naming it/,
  ],
  // 6: internal messages
  [6, 'packages/core/test/runner.test.ts', /^results lines that are not rows > /],
  [
    6,
    'packages/core/test/runner.test.ts',
    /^runExperiment > never falls back silently: a named unavailable backend/,
  ],
  [6, 'packages/core/test/spec.test.ts', /^non-finite numbers in a spec > /],
  [6, 'packages/core/test/spec.test.ts', /^spec validation: each bad spec fails before any work/],
  [
    6,
    'packages/core/test/spec.test.ts',
    /^sweep grammar > says which key an ambiguous short name could mean/,
  ],
  [
    6,
    'packages/core/test/spec.test.ts',
    /^entries: .* > reports an unknown inner kind and a bad inner option/,
  ],
  [
    6,
    'packages/core/test/registry.test.ts',
    /^Registry > names the registered kinds and the closest one for an unknown kind/,
  ],
  [6, 'packages/cli/test/cli.test.ts', /^regimes run > rejects %s before any work/],
  [6, 'packages/cli/test/cli.test.ts', /^regimes run > names the valid backends for an unknown one/],
  [
    6,
    'packages/cli/test/sweeps.test.ts',
    /^dry run and schema > the JSON Schema the build writes .* rejects bad specs/,
  ],
  [
    6,
    'packages/targets/test/hermite.test.ts',
    /^hermite target: bad input > rejects %s with a message that says what is allowed/,
  ],
  [6, 'packages/learners/test/rf.test.ts', /^rf > rejects unknown activations/],
  [6, 'packages/learners/test/deep.test.ts', /^deep > refuses layerwise training of a two-layer net/],
  [6, 'packages/learners/test/training.test.ts', /^nn > rejects contradictory options before training/],
  [
    6,
    'packages/learners/test/transfer-plugin.test.ts',
    /reports a misspelt option of the plugin's kind, and an unknown base kind/,
  ],
  [6, 'packages/learners/test/ridge.test.ts', /refuses a forced ei/],
  [
    6,
    'packages/numerics/test/linalg.test.ts',
    /says what to change when the matrix is not positive definite/,
  ],
  [6, 'packages/backend-node/test/native.test.ts', /says what to install when the addon is missing/],
  [6, 'test/cluster-examples.test.ts', /^slurm-array\.sh > refuses %s, running nothing/],
  [
    6,
    'test/cluster-examples.test.ts',
    /^submit-slurm\.sh > refuses a shard count that is not a positive number/,
  ],
];

/** Every *.test.ts under packages/*\/test and test/. */
function testFiles() {
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.name === 'node_modules' || e.name === 'fixtures'
        ? []
        : e.isDirectory()
          ? walk(join(dir, e.name))
          : e.name.endsWith('.test.ts')
            ? [join(dir, e.name)]
            : [],
    );
  const packages = join(repo, 'packages');
  const dirs = [...readdirSync(packages).map((p) => join(packages, p, 'test')), join(repo, 'test')].filter(
    (d) => statSync(d, { throwIfNoEntry: false })?.isDirectory(),
  );
  return dirs.flatMap(walk).sort();
}

/** The text of a title argument (a string, a template without or with substitutions). */
function titleOf(node, source) {
  if (!node) return '';
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  return node.getText(source).replace(/^[`'"]|[`'"]$/g, '');
}

/** `it`, `test`, `describe` with their modifiers (`it.each(t)`, `it.for(t)`, `it.skipIf(c)`, `describe.each(t)`). */
function testCall(node) {
  // it('title', fn) / it.skip('title', fn)
  let callee = node.expression;
  let rows = 1;
  if (ts.isCallExpression(callee)) {
    // it.each(table)('title', fn), it.for(table)('title', fn), it.skipIf(c)('title', fn)
    const inner = callee.expression;
    if (!ts.isPropertyAccessExpression(inner)) return undefined;
    let table = callee.arguments[0];
    // a table written `[...] as const` or `[...] satisfies T`
    while (table && (ts.isAsExpression(table) || ts.isSatisfiesExpression(table))) table = table.expression;
    if (inner.name.text === 'each' || inner.name.text === 'for')
      rows = table && ts.isArrayLiteralExpression(table) ? table.elements.length : 1;
    callee = inner.expression;
  } else if (ts.isPropertyAccessExpression(callee)) {
    if (!['skip', 'only', 'concurrent', 'sequential', 'fails'].includes(callee.name.text)) return undefined;
    callee = callee.expression;
  }
  if (!ts.isIdentifier(callee)) return undefined;
  const kind =
    callee.text === 'it' || callee.text === 'test'
      ? 'test'
      : callee.text === 'describe'
        ? 'describe'
        : undefined;
  return kind && { kind, rows };
}

/** The `// bad-input: <class>` comment on the line above a call, if any. */
function tagOf(node, source) {
  const text = source.text;
  const comments = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  for (const c of comments) {
    const m = /^\/\/\s*bad-input:\s*(\d)\b/.exec(text.slice(c.pos, c.end));
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** The tests of a file: full name, rows (cases), and the class its comments give it. */
export function testsOf(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const tests = [];
  const visit = (node, names, tag) => {
    if (ts.isExpressionStatement(node) && ts.isCallExpression(node.expression)) {
      const call = testCall(node.expression);
      if (call) {
        const name = titleOf(node.expression.arguments[0], source);
        const own = tagOf(node, source) ?? tag;
        if (call.kind === 'test') {
          tests.push({
            file: relative(repo, file),
            name: [...names, name].join(' > '),
            rows: call.rows,
            tag: own,
          });
          return;
        }
        ts.forEachChild(node.expression, (child) => visit(child, [...names, name], own));
        return;
      }
    }
    ts.forEachChild(node, (child) => visit(child, names, tag));
  };
  visit(source, [], undefined);
  return tests;
}

/** Every test of the suite, with the class it counts in (tag or selector), and stale selectors. */
export function classify() {
  const tests = testFiles().flatMap(testsOf);
  const used = new Set();
  for (const t of tests) {
    t.class = t.tag;
    SELECTORS.forEach(([cls, file, pattern], i) => {
      if (t.class === undefined && t.file === file && pattern.test(t.name)) {
        t.class = cls;
        used.add(i);
      } else if (t.file === file && pattern.test(t.name)) used.add(i);
    });
  }
  const stale = SELECTORS.filter((_, i) => !used.has(i)).map(([cls, file, pattern]) => ({
    cls,
    file,
    pattern: String(pattern),
  }));
  return { tests, stale };
}

function main() {
  const args = process.argv.slice(2);
  const { tests, stale } = classify();
  if (args.includes('--list')) {
    for (const t of tests) process.stdout.write(`${t.file}: ${t.name}${t.rows > 1 ? ` [×${t.rows}]` : ''}\n`);
    return;
  }
  const counted = tests.filter((t) => t.class !== undefined);
  if (args.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ classes: CLASSES, cases: counted, stale }, null, 2)}\n`);
  } else if (args.includes('--markdown')) {
    const lines = ['| class | cases | tests (file: name) |', '| --- | ---: | --- |'];
    for (const [cls, title] of Object.entries(CLASSES)) {
      const mine = counted.filter((t) => t.class === Number(cls));
      const cases = mine.reduce((a, t) => a + t.rows, 0);
      const list = mine.map(
        (t) =>
          `\`${t.file.replace(/^packages\//, '')}\`: ${t.name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|')}${t.rows > 1 ? ` (×${t.rows})` : ''}`,
      );
      lines.push(`| ${cls}. ${title} | ${cases} | ${list.join('<br>')} |`);
    }
    const total = counted.reduce((a, t) => a + t.rows, 0);
    lines.push(
      `| **all** | **${total}** | ${counted.length} tests in ${new Set(counted.map((t) => t.file)).size} files |`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } else {
    for (const [cls, title] of Object.entries(CLASSES)) {
      const mine = counted.filter((t) => t.class === Number(cls));
      process.stdout.write(
        `${cls}. ${title}: ${mine.reduce((a, t) => a + t.rows, 0)} case(s) in ${mine.length} test(s)\n`,
      );
    }
    process.stdout.write(
      `all: ${counted.reduce((a, t) => a + t.rows, 0)} case(s) in ${counted.length} test(s) of ${tests.length}\n`,
    );
  }
  if (stale.length) {
    for (const s of stale)
      process.stderr.write(
        `error: selector ${s.pattern} (class ${s.cls}) matches no test of ${s.file}: reclassify the renamed or deleted test in scripts/count-bad-inputs.mjs\n`,
      );
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
