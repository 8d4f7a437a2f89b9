// docs/targets.md's "A target from your own function", as a file `npm run lint` type-checks:
// f*(x) = x₁³ as a target, fitted by RF at two sample sizes, the rows written to a results file.
import { defineTarget } from '@regimes/core';
import { runExperiment } from '@regimes/cli';
import * as tf from '@tensorflow/tfjs-core';

// x₁³ = 3·He₁(x₁) + He₃(x₁) = 3h₁ + √6·h₃ (orthonormal h_k = He_k/√k!): energies 9 at degree 1, 6 at 3
const cubic = defineTarget({
  name: 'cubic',
  d: 16,
  noise: 0.1,
  f: (x) => tf.tidy(() => tf.pow(tf.slice(x, [0, 0], [-1, 1]), 3)),
  structure: { hermiteEnergy: [0, 9, 0, 6] }, // optional, if you know it
});

const { rows, out } = await runExperiment(
  { target: cubic, learners: [{ kind: 'rf' }], sweep: { n: [256, 1024] } },
  { out: 'runs/cubic/results.jsonl' }, // absent: rows are only returned
);
console.log(`${rows.length} rows in ${out}`);
