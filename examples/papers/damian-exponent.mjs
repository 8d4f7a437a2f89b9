#!/usr/bin/env node
// Damian, Lee & Soltanolkotabi 2022: the sample-complexity exponent of each learner from a results
// file of examples/papers/damian-sample-complexity.yaml (any spec that sweeps target.d, n and seed).
//
//   node examples/papers/damian-exponent.mjs runs/damian-sample-complexity/results.jsonl \
//     [--metric normalized-risk] [--threshold 0.25] [--theory ntk=3,damian=2] [--png out.png] [--json]
//
// For each (learner, d): the mean of the metric over seeds at every n, its standard error (the larger
// of the seeds' spread / √seeds and the test sets' own standard errors, <metric>-se, combined), and
// the threshold n — where the mean first falls below the threshold, interpolated linearly in
// (log n, log risk) between the two grid points around the crossing. The same crossing of mean ∓ SE
// gives a range [n−, n+]. Then the exponent k of n* ∝ d^k by least squares on (log d, log n*), with
// its standard error from the residuals, the slopes of n− and n+, and one slope per seed.
// --png draws n* against d on log axes: points with their range, the fitted lines and the theory's
// slopes (anchored at the fitted line's value at the geometric mean of d).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const file = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
if (!file) {
  console.error(
    'usage: damian-exponent.mjs results.jsonl [--metric m] [--threshold t] [--theory id=k,…] [--png f] [--json]',
  );
  process.exit(2);
}
const metric = flag('metric', 'normalized-risk');
const threshold = Number(flag('threshold', '0.25'));
const theory = Object.fromEntries(
  flag('theory', 'ntk=3,kernel=3,damian=2')
    .split(',')
    .map((kv) => kv.split('='))
    .map(([k, v]) => [k, Number(v)]),
);

const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l))
  .filter((r) => r.metrics && Number.isFinite(r.metrics[metric]));
if (!rows.length) throw new Error(`${file}: no rows with metric ${metric}`);

const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v) =>
  v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1));
const dOf = (r) => r.target.d;
const learnerOf = (r) => r.learner.id.replace(/#0$/, '');
const group = (items, key) => {
  const m = new Map();
  for (const it of items) {
    const k = key(it);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(it);
  }
  return m;
};

/** First n where the curve (n ascending) falls below t, interpolated in (log n, log y); undefined if never. */
function crossing(ns, ys, t) {
  for (let i = 0; i < ns.length; i++) {
    if (!(ys[i] < t)) continue;
    if (i === 0) return ns[0];
    const [x0, x1] = [Math.log(ns[i - 1]), Math.log(ns[i])];
    const [y0, y1] = [Math.log(Math.max(ys[i - 1], 1e-300)), Math.log(Math.max(ys[i], 1e-300))];
    return Math.exp(x0 + ((Math.log(t) - y0) * (x1 - x0)) / (y1 - y0));
  }
  return undefined;
}

/** Least squares y = a + k x: k, a and the standard error of k (undefined with 2 points). */
function fitLine(xs, ys) {
  const mx = mean(xs);
  const my = mean(ys);
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const k = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / sxx;
  const a = my - k * mx;
  const rss = xs.reduce((s, x, i) => s + (ys[i] - a - k * x) ** 2, 0);
  const se = xs.length > 2 ? Math.sqrt(rss / (xs.length - 2) / sxx) : undefined;
  return { k, a, se };
}

const results = [];
for (const [learner, lr] of group(rows, learnerOf)) {
  const perD = [];
  for (const [d, dr] of [...group(lr, dOf)].sort((p, q) => p[0] - q[0])) {
    const byN = [...group(dr, (r) => r.cell.n)].sort((p, q) => p[0] - q[0]);
    const ns = byN.map(([n]) => n);
    const seeds = [...new Set(dr.map((r) => r.seed))].sort((a, b) => a - b);
    const means = [];
    const ses = [];
    for (const [, nr] of byN) {
      const v = nr.map((r) => r.metrics[metric]);
      const testSe = Math.sqrt(nr.reduce((s, r) => s + (r.metrics[`${metric}-se`] ?? 0) ** 2, 0)) / v.length;
      means.push(mean(v));
      ses.push(Math.max(sd(v) / Math.sqrt(v.length), testSe));
    }
    const perSeed = seeds.map((s) => {
      const sr = byN.map(([, nr]) => nr.find((r) => r.seed === s)?.metrics[metric] ?? NaN);
      return crossing(ns, sr, threshold);
    });
    perD.push({
      d,
      seeds,
      ns,
      means,
      ses,
      n: crossing(ns, means, threshold),
      lo: crossing(
        ns,
        means.map((m, i) => m - ses[i]),
        threshold,
      ),
      hi: crossing(
        ns,
        means.map((m, i) => m + ses[i]),
        threshold,
      ),
      perSeed,
    });
  }
  const ok = perD.filter((p) => p.n !== undefined);
  const line = (pick) => {
    const pts = perD.filter((p) => pick(p) !== undefined);
    return pts.length >= 2
      ? fitLine(
          pts.map((p) => Math.log(p.d)),
          pts.map((p) => Math.log(pick(p))),
        )
      : undefined;
  };
  const fit = line((p) => p.n);
  const seedSlopes = (perD[0]?.seeds ?? []).map((_, j) => line((p) => p.perSeed[j])?.k);
  results.push({
    learner,
    theory: theory[learner] ?? theory[lr[0].learner.kind],
    perD,
    fit,
    fitLo: line((p) => p.lo),
    fitHi: line((p) => p.hi),
    seedSlopes,
    censored: perD.filter((p) => p.n === undefined).map((p) => p.d),
    points: ok.length,
  });
}

const fmt = (x, digits = 3) =>
  x === undefined || !Number.isFinite(x) ? '—' : Number(x.toPrecision(digits)).toString();
if (args.includes('--json')) {
  console.log(JSON.stringify({ metric, threshold, results }, null, 1));
} else {
  console.log(
    `threshold n: ${metric} (mean over seeds) first below ${threshold}; [n−, n+]: crossings of mean ∓ SE\n`,
  );
  for (const r of results) {
    console.log(`${r.learner}`);
    console.log('  d     n*       [n−, n+]            per seed');
    for (const p of r.perD)
      console.log(
        `  ${String(p.d).padEnd(5)} ${fmt(p.n).padEnd(8)} [${fmt(p.lo)}, ${fmt(p.hi)}]`.padEnd(38) +
          p.perSeed.map((v) => fmt(v)).join(', ') +
          (p.n === undefined
            ? `   (not below ${threshold} up to n = ${p.ns.at(-1)}: left out of the fit)`
            : ''),
      );
  }
  console.log('\nexponent k of n* ∝ d^k (least squares on log–log):');
  console.log('  learner  k (± SE)        k from n−, n+    per seed        theory');
  for (const r of results)
    console.log(
      `  ${r.learner.padEnd(8)} ${`${fmt(r.fit?.k)} ± ${fmt(r.fit?.se, 2)}`.padEnd(15)} ${`${fmt(r.fitLo?.k)}, ${fmt(r.fitHi?.k)}`.padEnd(16)} ${r.seedSlopes
        .map((v) => fmt(v))
        .join(', ')
        .padEnd(15)} ${fmt(r.theory)}` + (r.points < 2 ? '  (fewer than 2 threshold points)' : ''),
    );
}

const png = flag('png', undefined);
if (png) {
  const require = createRequire(import.meta.url);
  const vl = await import('vega-lite');
  const { logTicks } = await import('@regimes/cli');
  const vega = await import('vega');
  const { initWasm, Resvg } = await import('@resvg/resvg-wasm');
  const points = [];
  const lines = [];
  // the colour legend names each learner with its fitted and theory slopes; the dash says which line
  const names = new Map(
    results.map((r) => [
      r.learner,
      `${r.learner}: k = ${r.fit ? `${fmt(r.fit.k, 3)}${r.fit.se !== undefined ? ` ± ${fmt(r.fit.se, 2)}` : ''}` : '—'}${r.theory !== undefined ? ` (theory ${r.theory})` : ''}`,
    ]),
  );
  for (const r of results) {
    const learner = names.get(r.learner);
    for (const p of r.perD)
      if (p.n !== undefined)
        // a range whose upper end lies past the largest n measured is drawn up to it, with an arrow
        points.push({
          learner,
          d: p.d,
          n: p.n,
          lo: p.lo ?? p.n,
          hi: p.hi ?? p.ns.at(-1),
          open: p.hi === undefined,
        });
    if (!r.fit) continue;
    const ds = r.perD.map((p) => p.d);
    const [d0, d1] = [Math.min(...ds), Math.max(...ds)];
    const lg = mean(ds.map(Math.log));
    const at = (k, a, d) => Math.exp(a + k * Math.log(d));
    for (const d of [d0, d1])
      lines.push({ learner, line: 'least-squares fit', d, n: at(r.fit.k, r.fit.a, d) });
    if (r.theory !== undefined) {
      const a = r.fit.a + (r.fit.k - r.theory) * lg;
      for (const d of [d0, d1]) lines.push({ learner, line: 'theory slope', d, n: at(r.theory, a, d) });
    }
  }
  const open = points.filter((p) => p.open);
  const dValues = [...new Set(results.flatMap((r) => r.perD.map((p) => p.d)))];
  const x = {
    field: 'd',
    type: 'quantitative',
    scale: { type: 'log', nice: false },
    axis: { values: dValues },
    title: 'd',
  };
  const lineNames = ['least-squares fit', 'theory slope'];
  // the axis spans the drawn values (a log scale made nice would add an empty decade)
  const drawn = [...points.flatMap((p) => [p.lo, p.hi]), ...lines.map((l) => l.n)];
  const [yLo, yHi] = [Math.min(...drawn) / 1.15, Math.max(...drawn) * 1.15];
  const y = {
    type: 'quantitative',
    scale: { type: 'log', nice: false, domain: [yLo, yHi] },
    // the ticks `regimes plot` draws (Vega's own label every digit and leave some unlabelled)
    axis: { values: logTicks(yLo, yHi), format: '~g' },
    title: `n where ${metric} < ${threshold}`,
  };
  const color = {
    field: 'learner',
    type: 'nominal',
    title: 'learner: n* ∝ d^k',
    legend: { labelLimit: 320, titleLimit: 320 },
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 420,
    height: 320,
    background: 'white',
    config: { font: 'DejaVu Sans' },
    title: {
      text: 'threshold n vs d (log–log)',
      ...(open.length
        ? {
            subtitle: `▲: the range's upper end lies past the largest n measured (${open.map((p) => p.hi).join(', ')})`,
          }
        : {}),
    },
    layer: [
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x,
          y: { ...y, field: 'n' },
          color,
          strokeDash: {
            field: 'line',
            type: 'nominal',
            title: 'line',
            scale: {
              domain: lineNames,
              range: [
                [1, 0],
                [6, 4],
              ],
            },
            legend: { symbolStrokeWidth: 2, symbolSize: 300 },
          },
          detail: { field: 'line' },
        },
      },
      {
        data: { values: points },
        mark: { type: 'rule' },
        encoding: {
          x,
          y: { ...y, field: 'lo' },
          y2: { field: 'hi' },
          color,
        },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 50 },
        encoding: { x, y: { ...y, field: 'n' }, color },
      },
      ...(open.length
        ? [
            {
              data: { values: open },
              mark: { type: 'point', shape: 'triangle-up', filled: true, size: 60 },
              encoding: { x, y: { ...y, field: 'hi' }, color },
            },
          ]
        : []),
    ],
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  await initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
  const font = (n) => new Uint8Array(readFileSync(require.resolve(`dejavu-fonts-ttf/ttf/${n}`)));
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    font: {
      fontBuffers: [font('DejaVuSans.ttf'), font('DejaVuSans-Bold.ttf')],
      defaultFontFamily: 'DejaVu Sans',
    },
  });
  writeFileSync(png, resvg.render().asPng());
  if (png.endsWith('.png')) writeFileSync(png.replace(/\.png$/, '.svg'), svg);
  console.log(`\nwrote ${png}`);
}
