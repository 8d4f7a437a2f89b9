// Every test file starts on the cpu backend (the reference); backend tests switch and restore.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
await tf.setBackend('cpu');
