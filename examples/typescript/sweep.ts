// An experiment like the quickstart's (rf on a degree-2 target, plus an ntk and a ridge grid),
// composed in TypeScript with each kind's options typed: a misspelt
// option is a compile error (checked by `npm run lint`, which type-checks this file).
import { runExperiment } from '@regimes/cli';
import { learner } from '@regimes/learners';
import { target } from '@regimes/targets';

const { rows } = await runExperiment(
  {
    name: 'typed-sweep',
    target: target.hermite({ d: 8, preset: 'single', degree: 2 }),
    learners: [
      learner.rf({ width: 512, bias: 0.5, sweep: { ridge: { logspace: [-5, -2, 4] } } }),
      learner.ntk({ ridge: 1e-3 }),
    ],
    sweep: { n: { log2: [6, 12], step: 2 }, seed: { range: [0, 3] } },
  },
  { jobs: 2 },
);
console.log(`${rows.length} rows`);

// @ts-expect-error: 'widht' is not an option of rf
learner.rf({ widht: 512 });
