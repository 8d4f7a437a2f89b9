// The default export is tfjs-core's namespace: `import tf from '@regimes/numerics/tfjs'` gives
// values (tf.tidy) and types (tf.Tensor2D) as `import * as tf from '@tensorflow/tfjs-core'` does.
import * as tf from '@tensorflow/tfjs-core';

export default tf;
