// The Learner contract, as @regimes/core/testing checks it for every learner kind: fa (FA, one
// hidden layer) and DFA with two hidden layers, on a small single-index target.
import { describeLearnerConformance } from '@regimes/core/testing';
import { hermite } from '@regimes/targets';
import { fa } from '../src/index.js';

const target = { factory: hermite, options: { d: 6, degree: 2 } };
describeLearnerConformance('fa', { factory: fa, options: { width: 16, steps: 40 }, target, n: 64 });
describeLearnerConformance('fa (direct, hidden 2)', {
  factory: fa,
  options: { width: 16, steps: 40, hidden: 2, direct: true },
  target,
  n: 64,
});
