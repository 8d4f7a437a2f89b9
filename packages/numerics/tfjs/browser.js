// The browser build (the page of `regimes serve`, bundled by esbuild): tfjs-core's own module.
import * as tf from '@tensorflow/tfjs-core';

export default tf;
