#!/usr/bin/env node
// regimes-samples-to-reach RESULTS.jsonl EPS [METRIC]: the samples each learner needs to reach EPS.
import { readResults } from '@regimes/core';
import { samplesToReach } from './samples-to-reach.js';

const [file, eps, metric = 'risk'] = process.argv.slice(2);
if (!file || !eps || !(Number(eps) > 0)) {
  process.stderr.write('usage: regimes-samples-to-reach results.jsonl EPS [metric, default risk]\n');
  process.exit(2);
}
const rows = readResults(file).rows;
// a metric no row holds (a typo, or one the spec did not list) would print nothing: say so
const held = [...new Set(rows.filter((r) => r.status === 'ok').flatMap((r) => Object.keys(r.metrics)))];
if (!held.includes(metric)) {
  process.stderr.write(
    `regimes-samples-to-reach: no successful row of ${file} holds the metric '${metric}'; ` +
      `they hold: ${held.length ? held.join(', ') : '(none: no successful row)'}\n`,
  );
  process.exit(2);
}
for (const r of samplesToReach(rows, { eps: Number(eps), metric }))
  process.stdout.write(
    `${r.learner}\t${r.n === null ? `not reached (min ${Math.min(...r.curve.map((p) => p.risk)).toPrecision(3)})` : r.n.toFixed(0)}\n`,
  );
