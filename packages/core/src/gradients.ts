// Registers tfjs-core's gradient functions once for the process (see scripts/bundle-gradients.mjs),
// so tf.grad works from every package and from the built CLI. tfjs-core itself is loaded first: it
// creates the one engine (with its flags) that the bundled gradient code then finds and shares.
import '@regimes/numerics/tfjs';
import '../generated/tfjs-gradients.js';
