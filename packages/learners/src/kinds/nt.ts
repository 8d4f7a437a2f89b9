/**
 * `nt`: the neural tangent model of Ghorbani, Mei, Misiakiewicz & Montanari 2019 — the
 * linearization of a two-layer network around a frozen random first layer W:
 *   f(x) = Σ_j σ'(⟨w_j, x⟩ + b_j)⟨g_j, x⟩/√(Nd)  [+ Σ_j a_j σ(⟨w_j, x⟩ + b_j)/√N with layers: both],
 * linear in (G, a), fitted by ridge. Its features x ⊗ σ'(Wx) number N·d: solved in the primal when
 * N·d ≤ n, else in the dual with K(x, x') = (⟨x,x'⟩/d)·(Σ_j σ'_j(x)σ'_j(x')/N) [+ Σ_j σ_jσ_j/N],
 * then G = Σ_i α_i σ'(Wx_i)x_iᵀ/√(Nd) is formed, so prediction needs no training data.
 * The learned directions G are exposed as the predictor's first layer.
 */
import { defineLearnerKind, type LearnerFactory, options, type Predictor, z } from '@regimes/core';
import * as tf from '@tensorflow/tfjs-core';
import { activation } from '../activations/index.js';
import type { KernelFunction } from '../kernels.js';
import { drawFirstLayer, firstLayerOptions, preActivation, predictorFromFits } from './rf.js';
import { fitRidge, ridgeOptions } from '../readout/ridge.js';
import { dualSystem, primalSystem } from '../readout/systems.js';
import { featureRidgeEstimate, kernelRidgeEstimate } from '../cost.js';

export const neuralTangentOptions = options({
  ...firstLayerOptions,
  weights: z
    .enum(['sphere', 'gaussian'])
    .default('gaussian')
    .describe('rows of W: uniform on the unit sphere, or N(0, I/d)'),
  layers: z
    .enum(['first', 'both'])
    .default('first')
    .describe('linearize the first layer only, or also train the readout'),
  ...ridgeOptions,
});

export const neuralTangent: LearnerFactory = defineLearnerKind({
  kind: 'nt',
  description:
    'neural tangent model (Ghorbani et al. 2019): linearized two-layer net around a frozen random W, by ridge',
  options: neuralTangentOptions,
  // N·d features x ⊗ σ'(Wx); their kernel is (x·x')(σ'·σ')/N: 2(d + N) flops per pair
  estimate: (o, s) =>
    o.width * s.d <= s.n
      ? featureRidgeEstimate(o.width * s.d, 2 * (s.n + s.testN) * o.width * s.d, o, s)
      : kernelRidgeEstimate(2 * (s.d + o.width), o, s),
  create(o) {
    const sigma = activation(o.activation);
    return {
      async fit(train, ctx): Promise<Predictor> {
        ctx.signal.throwIfAborted();
        const [n, d] = train.x.shape;
        const k = train.y.shape[1];
        const N = o.width;
        const { w, b } = drawFirstLayer(ctx.rng.child('init'), o, d);
        const both = o.layers === 'both';
        const tangentScale = 1 / Math.sqrt(N * d);
        const slopes = (x: tf.Tensor2D) => sigma.derivative(preActivation(x, w, b)) as tf.Tensor2D;
        const p = N * d + (both ? N : 0);
        const primal = p <= n;
        let fits;
        if (primal) {
          // Φ = [vec(σ'(Wx+b) ⊗ x)/√(Nd), σ(Wx+b)/√N]
          const phi = tf.tidy(() => {
            const outer = tf.reshape(tf.mul(tf.expandDims(slopes(train.x), 2), tf.expandDims(train.x, 1)), [
              n,
              N * d,
            ]);
            const parts = [tf.mul(outer, tangentScale)];
            if (both) parts.push(tf.div(sigma.sigma(preActivation(train.x, w, b)), Math.sqrt(N)));
            return tf.concat(parts, 1) as tf.Tensor2D;
          });
          const system = await primalSystem(phi, train.y);
          try {
            fits = await fitRidge(system, o, ctx.signal);
          } finally {
            system.release?.();
            phi.dispose();
          }
          const shaped = fits.map((fit) =>
            tf.tidy(() => {
              const gs = Array.from({ length: k }, (_, c) =>
                tf.reshape(tf.slice(fit.coefficients, [0, c], [N * d, 1]), [N, d]),
              );
              const a = both ? (tf.slice(fit.coefficients, [N * d, 0], [N, k]) as tf.Tensor2D) : undefined;
              return { gs, a };
            }),
          );
          for (const fit of fits) fit.coefficients.dispose();
          return finish(shaped);
        }
        const kernel: KernelFunction = (a1, a2) =>
          tf.tidy(() => {
            const linear = tf.div(tf.matMul(a1, a2, false, true), d);
            let out = tf.mul(linear, tf.div(tf.matMul(slopes(a1), slopes(a2), false, true), N));
            if (both)
              out = tf.add(
                out,
                tf.div(
                  tf.matMul(
                    sigma.sigma(preActivation(a1, w, b)),
                    sigma.sigma(preActivation(a2, w, b)),
                    false,
                    true,
                  ),
                  N,
                ),
              );
            return out as tf.Tensor2D;
          });
        fits = await fitRidge(await dualSystem(train.x, train.y, kernel), o, ctx.signal);
        const shaped = fits.map((fit) =>
          tf.tidy(() => {
            const s = slopes(train.x); // n×N
            const gs = Array.from({ length: k }, (_, c) => {
              const alpha = tf.slice(fit.coefficients, [0, c], [n, 1]);
              return tf.mul(tf.matMul(tf.mul(s, alpha), train.x, true, false), tangentScale); // N×d
            });
            const a = both
              ? (tf.div(
                  tf.matMul(sigma.sigma(preActivation(train.x, w, b)), fit.coefficients, true, false),
                  Math.sqrt(N),
                ) as tf.Tensor2D)
              : undefined;
            return { gs, a };
          }),
        );
        for (const fit of fits) fit.coefficients.dispose();
        return finish(shaped);

        function finish(shaped: { gs: tf.Tensor[]; a: tf.Tensor2D | undefined }[]): Predictor {
          return predictorFromFits(
            fits!,
            (fit) => {
              const { gs, a } = shaped[fits!.indexOf(fit)]!;
              const features = gs[0] as tf.Tensor2D;
              return {
                features,
                predict: (x) =>
                  tf.tidy(() => {
                    const s = slopes(x);
                    const columns = gs.map((g) =>
                      tf.sum(tf.mul(s, tf.matMul(x, g as tf.Tensor2D, false, true)), 1, true),
                    );
                    let out: tf.Tensor = tf.mul(tf.concat(columns, 1), tangentScale);
                    if (a)
                      out = tf.add(
                        out,
                        tf.matMul(tf.div(sigma.sigma(preActivation(x, w, b)), Math.sqrt(N)), a),
                      );
                    return out as tf.Tensor2D;
                  }),
                dispose: () => tf.dispose([...gs, ...(a ? [a] : [])]),
              };
            },
            b ? [w, b] : [w],
            { dual: primal ? 0 : 1 },
          );
        }
      },
    };
  },
});
