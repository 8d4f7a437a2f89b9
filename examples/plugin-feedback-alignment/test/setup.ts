// @regimes/core/testing runs tensors on whatever tfjs backend is active, and tfjs-core alone has
// none: register the cpu backend (a devDependency) and make it current before every test file.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true); // no tfjs console notes
await tf.setBackend('cpu');
