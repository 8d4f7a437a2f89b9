#!/usr/bin/env node
// regimes-samples-to-reach RESULTS.jsonl EPS [METRIC]: the samples each learner needs to reach EPS.
import { readResults } from '@regimes/core';
import { samplesToReach } from './samples-to-reach.js';

const [file, eps, metric] = process.argv.slice(2);
if (!file || !eps || !(Number(eps) > 0)) {
  process.stderr.write('usage: regimes-samples-to-reach results.jsonl EPS [metric, default risk]\n');
  process.exit(2);
}
for (const r of samplesToReach(readResults(file).rows, { eps: Number(eps), ...(metric ? { metric } : {}) }))
  process.stdout.write(
    `${r.learner}\t${r.n === null ? `not reached (min ${Math.min(...r.curve.map((p) => p.risk)).toPrecision(3)})` : r.n.toFixed(0)}\n`,
  );
