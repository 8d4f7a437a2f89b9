/**
 * The four extension points of regimes — Target, Learner, Metric, Backend — and the data they
 * share. Each point has a factory contract that plugins bind in the container under a
 * `kind`; a service identifier and its interface share a name.
 */
import type { Tensor2D } from '@tensorflow/tfjs-core';
import type { ServiceIdentifier } from 'inversify';
import type { z } from 'zod';
import type { Rng } from '../rng/rng.js';

/** A value, or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * n samples: inputs x (n×d) and labels y (n×k), float32 tensors of the active tfjs backend, row i
 * of each the same sample. Whoever made it owns it and disposes both (`disposeDataset`): a target's
 * `sample` hands ownership to the caller; a learner's `fit` only reads `train`.
 */
export interface Dataset {
  /** Inputs, n×d (d = the target's `dim`). */
  readonly x: Tensor2D;
  /** Labels, n×k (k = the target's `outputDim`): f*(x) plus the target's noise. */
  readonly y: Tensor2D;
}

/** Disposes both tensors of a dataset. */
export function disposeDataset(data: Dataset): void {
  data.x.dispose();
  data.y.dispose();
}

/** What a target knows exactly about itself, for theory curves and metrics. */
export interface TargetStructure {
  /** Rows of U (r×d, orthonormal), row-major, when f*(x) = g(Ux). */
  readonly subspace?: Float64Array;
  /** r, the number of rows of `subspace`. */
  readonly subspaceRank?: number;
  /** ‖P_k f*‖² for k = 0..p in the orthonormal Hermite basis of N(0, I_d), when f* is a polynomial. */
  readonly hermiteEnergy?: readonly number[];
  /** Energy of f* above the degrees listed in hermiteEnergy (0 for a polynomial listed in full). */
  readonly hermiteTail?: number;
  /** How the energies were obtained: exactly, by Gauss–Hermite quadrature, or by Monte Carlo. */
  readonly hermiteMethod?: 'exact' | 'quadrature' | 'monte-carlo';
  /** g's exact expansion Σ c_α h_α(z), z = Ux, when it is a polynomial. */
  readonly hermiteTerms?: readonly { readonly coef: number; readonly alpha: readonly number[] }[];
  /** Variance of the label noise added to f*(x) in `sample` (0 when labels are noiseless). */
  readonly noiseVariance?: number;
  /** For classification targets: the Bayes error of predicting the label from x. */
  readonly bayesError?: number;
  /** For compositional targets: the features of each level at x (n×k each), level 1 first. */
  levelFeatures?(x: Tensor2D): Tensor2D[];
  /** Facts particular to a kind (eigenvalues of B, level weights, ...), recorded for theory curves. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Named related tasks (e.g. `source` for a transfer target), with their own structure. */
  readonly tasks?: Readonly<Record<string, Target>>;
}

/** A data distribution whose ground truth is known. */
export interface Target {
  /** Input dimension d. */
  readonly dim: number;
  /** Output dimension k (1 for scalar regression). */
  readonly outputDim: number;
  readonly structure: TargetStructure;
  /** Draw n samples; every draw comes from `rng`. */
  sample(n: number, rng: Rng): Dataset;
  /**
   * Optional: rows [start, start + count) of `sample(N, rng)` for any N ≥ start + count, the same
   * numbers. With it the runner draws the test set chunk by chunk and never holds it whole.
   */
  sampleRows?(start: number, count: number, rng: Rng): Dataset;
  /** The noiseless f*(x), n×k. */
  evaluate(x: Tensor2D): Tensor2D;
}

/** Where a learner reports what a user may want to read (the CLI prints info and warn on stderr). */
export interface Logger {
  /** Detail, shown with --verbose. */
  debug(message: string): void;
  /** Progress and facts worth a line. */
  info(message: string): void;
  /** Something the user should change or know (a setting ignored, a fallback taken). */
  warn(message: string): void;
}

/** Reports progress of a long fit: `done` of `total` steps. */
export type Progress = (done: number, total: number) => void;

/**
 * What a training learner may record along the way (learning curves over steps). The test data
 * and the subspace serve only measurement: a learner must not train on them.
 */
export interface TrainingMonitor {
  /** Test inputs and the noiseless target on them. */
  readonly test: { readonly x: Tensor2D; readonly f: Tensor2D };
  /** The target's relevant subspace U (rank×d, orthonormal rows), when it has one. */
  readonly subspace?: { readonly u: Float64Array; readonly rank: number };
  /** The target's level features on the test inputs (hierarchical targets), for per-layer fits. */
  readonly levels?: readonly Tensor2D[];
  /** Append one point of the learning curve (recorded in the results row's `trace`). */
  record(entry: { step: number } & Record<string, number>): void;
}

/** Everything a learner may use besides its data; a learner never reads globals. */
export interface FitContext {
  /** The learner's own sub-stream (already specific to cell and learner id). */
  readonly rng: Rng;
  readonly signal: AbortSignal;
  readonly progress: Progress;
  readonly log: Logger;
  /** Present when the runner records learning curves. */
  readonly monitor?: TrainingMonitor;
  /**
   * The cell's target, for learners that draw fresh samples from it while they train (nn's
   * `samples: online`); every draw comes from the fit's own `rng`. The runner gives it; a fit called
   * by hand may not.
   */
  readonly target?: Target;
  /** Related tasks of the target (e.g. `source` of a transfer target) a learner may sample from. */
  readonly tasks?: Readonly<Record<string, Target>>;
  /**
   * A learner of any registered kind from its entry `{ kind, ...options }` (the options parsed by
   * that kind's schema): how a learner that wraps another (transfer's base) reaches plugin kinds.
   * The runner gives it; a fit called by hand may not.
   */
  readonly createLearner?: (entry: { readonly kind: string } & Readonly<Record<string, unknown>>) => Learner;
}

/** A fitted model. The runner disposes it after the metrics are computed. */
export interface Predictor {
  /** f(x), n×k for x n×d: a new tensor the caller disposes; the predictor keeps nothing of it. */
  predict(x: Tensor2D): Tensor2D;
  /** First-layer weights W (width×d) when the model has them, for alignment metrics. */
  readonly features?: Tensor2D;
  /** The learned representation φ(x) (n×width) that the readout reads, for transfer learning. */
  representation?(x: Tensor2D): Tensor2D;
  /**
   * Var f(x) over the randomness the prediction is the mean of (a random initialisation, as
   * `ntk-dynamics` with `init: random`): a new n×1 (or n×k) tensor the caller disposes. Where it is
   * present the risk metrics (`risk`, `normalized-risk`, `excess-risk`) are expected risks over that
   * randomness, E(f − f*)² = (E f − f*)² + Var f; metrics of the prediction itself read `predict`.
   */
  predictVariance?(x: Tensor2D): Tensor2D;
  /** Scalar facts about the fit (train risk, residual of a solve, ...), recorded in the row. */
  readonly diagnostics?: Readonly<Record<string, number>>;
  /**
   * Several fits from one (e.g. one per ridge λ sharing the features): the runner records a row
   * per variant, keyed `<learner id>:<label>`, with `options` merged into the learner's.
   */
  readonly variants?: readonly PredictorVariant[];
  /** Frees every tensor it holds, its variants' included. */
  dispose(): void;
}

/** One of several fits a predictor carries (`Predictor.variants`): its label, options and predictor. */
export interface PredictorVariant {
  readonly label: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly predictor: Predictor;
}

/** A learning method with its options fixed (its factory's `create`); `fit` may be called again. */
export interface Learner {
  /**
   * Fits on `train` (read only: the caller owns and disposes it) and resolves to a predictor that
   * owns its tensors. Rules (the conformance suite checks them): no tensor left but the
   * predictor's; every random draw from `ctx.rng`; rejects once `ctx.signal` has fired.
   */
  fit(train: Dataset, ctx: FitContext): Promise<Predictor>;
}

/**
 * A metric's result: one number (recorded under the metric's kind), or named numbers (recorded under
 * those names, which by custom start with the kind: `error`, `error-se`). Two metrics of a spec that
 * give the same name are an error of the cell, not a silent overwrite.
 */
export type MetricValue = number | Readonly<Record<string, number>>;

/** What a metric may use besides the predictor, the test set and the target. */
export interface MetricContext {
  /** The metric's own sub-stream, for metrics that draw fresh samples. */
  readonly rng: Rng;
  /**
   * The test set in row chunks (the runner gives it): a metric that reads it through this, not
   * through `test.x`, costs the memory of one chunk however large the test set. Absent when a
   * metric is called by hand; `testChunks(test, context)` falls back to slicing `test`.
   */
  readonly test?: TestChunks;
}

/** A dataset read in row chunks; each chunk is freed after `fn` returns. */
export interface TestChunks {
  /** Number of rows. */
  readonly n: number;
  /** Calls `fn` on rows [start, start + chunk.x.shape[0]) in order, one chunk alive at a time. */
  forEachChunk(fn: (chunk: Dataset, start: number) => MaybePromise<void>): Promise<void>;
}

/** A measure of a fitted predictor on the test set. */
export interface Metric {
  /** The value for one fit; frees every tensor it makes, and disposes neither the predictor nor `test`. */
  compute(
    predictor: Predictor,
    test: Dataset,
    target: Target,
    context: MetricContext,
  ): MaybePromise<MetricValue>;
}

/** What a backend's probe found: usable here or not, and why not. */
export interface Availability {
  readonly available: boolean;
  /** Why not, and what to install, when unavailable. */
  readonly reason?: string;
  readonly device?: string;
  readonly version?: string;
  /**
   * A software stand-in for the hardware the backend targets (e.g. WebGPU on llvmpipe): usable when
   * named, but never chosen as the default.
   */
  readonly fallback?: boolean;
}

/** A tfjs backend as regimes uses it. */
export interface Backend {
  /** The tfjs backend name that `activate` makes current. */
  readonly name: string;
  /** Whether it can run here, without side effects on the current backend; never throws. */
  probe(): Promise<Availability>;
  /** Makes it tfjs's current backend (`tf.setBackend(name)`); throws what went wrong. */
  activate(): Promise<void>;
  /**
   * The most bytes its tensors can hold in all, where something other than the machine's memory
   * bounds them: 2³² for `wasm` and `native`, whose tensors live in a 32-bit WebAssembly heap.
   */
  readonly heapBytes?: number;
}

/** What every factory has: a kind, a description and a zod schema of its options. */
export interface KindFactory<Options = unknown> {
  readonly kind: string;
  readonly description: string;
  readonly options: z.ZodType<Options>;
  /**
   * Options that hold another kind's entry `{ kind, ...options }` (transfer's `base: 'learner'`):
   * the plan resolves each through the registry and parses it with that kind's schema, so a plugin's
   * kind is accepted there like a built-in one, and its problems are reported at their path.
   */
  readonly entries?: Readonly<Record<string, 'target' | 'learner' | 'metric'>>;
  /**
   * What an entry's kind must provide (transfer's `base: 'representation'`): the plan refuses a
   * learner kind that declares `representation: false`, before any fit.
   */
  readonly entryNeeds?: Readonly<Record<string, 'representation'>>;
  /**
   * Options that have no effect given the others (parsed, defaults filled in), each with why, e.g.
   * `{ degree: 'under preset staircase: its degree is r' }`; a field of a nested object by its path
   * (`'source.degree'`). An option listed here that the spec writes is an error at planning, so a
   * setting is never silently ignored.
   */
  unused?(options: Options): Readonly<Record<string, string>>;
}

/** One theory curve drawn over measured results: y against the plot's x, for one metric. */
export interface TheoryCurve {
  /** Legend entry, e.g. `kernel staircase ‖P>ℓ f*‖²`. */
  readonly label: string;
  /** The metric (or diagnostic) the curve predicts; the plotter draws it only on that y. */
  readonly metric: string;
  /** Points in data space, drawn in this order (two points at one x draw a vertical step). */
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

/** What a plot asks a factory's `theory` for: the x axis it must cover and the y it shows. */
export interface TheoryContext {
  /** The cell key on the x axis: `n`, `target.d`, `learners.width`, ... */
  readonly xKey: string;
  /** The measured x values of the panel, sorted and distinct; a curve may add points between them. */
  readonly xs: readonly number[];
  /** The metric on the y axis (a curve for another metric is not drawn). */
  readonly metric: string;
  /** The rows' target entry (`kind` and its parsed options), for learner theories that depend on it. */
  readonly target: { readonly kind: string } & Readonly<Record<string, unknown>>;
  /**
   * The stream the runner gives the target's `create` for the panel's first seed
   * (`Rng.fromSeed(seed).child('target')`), so a theory can rebuild the run's exact target.
   */
  readonly rng: Rng;
  /**
   * The run's target (the first seed's, built on demand by its factory with `rng`): its dimension
   * and exact structure, e.g. the energies by degree a learner's theory weighs by its own kernel.
   * Absent where the target kind is not registered; throws what the target's `create` throws.
   */
  readonly targetStructure?: () => { readonly dim: number; readonly structure: TargetStructure };
}

/** A target kind: creates targets from parsed options. */
export interface TargetFactory<Options = unknown> extends KindFactory<Options> {
  /** `rng` is for the target's own random structure (e.g. a seeded U). */
  create(options: Options, context: { rng: Rng }): Target;
  /**
   * The input and output dimensions these options give, known without creating the target (which
   * may draw a d-sized structure): what the memory budget and the dry run size a fit with.
   */
  dims?(options: Options): { readonly d: number; readonly k: number };
  /**
   * Closed-form predictions for this target (e.g. the kernel staircase), drawn over results;
   * an empty list when the context's x or metric is one the target has no theory for.
   */
  theory?(options: Options, context: TheoryContext): TheoryCurve[];
  /**
   * The names of the related tasks its targets give in `structure.tasks` (transfer's `source` and
   * `destination`), [] for none: a learner kind that `needsTasks` one absent here is refused at
   * planning. Unsaid (a plugin's kind that declares nothing): taken, and checked at run time.
   */
  readonly tasks?: readonly string[];
}

/** A rough count of one fit's work, for `regimes run --dry-run`. */
export interface WorkEstimate {
  /** Floating-point operations (a multiply-add counts 2). */
  readonly flops: number;
  /** Peak bytes of the largest tensors held at once. */
  readonly bytes: number;
  /**
   * Of `bytes`, those held as the backend's tensors (default: all): a backend whose tensors live
   * in a bounded heap (`Backend.heapBytes`) cannot hold more. The rest is host memory (a kernel
   * factored by host LAPACK).
   */
  readonly heapBytes?: number;
  /** Why the fit will be refused when it starts (with what to change), where that is known now. */
  readonly refused?: string;
}

/** The sizes of one fit: n training points of dimension d (k outputs), testN test points. */
export interface FitSize {
  readonly n: number;
  readonly d: number;
  readonly k: number;
  readonly testN: number;
}

/** A learner kind: creates learners from parsed options. */
export interface LearnerFactory<Options = unknown> extends KindFactory<Options> {
  /** A learner with these options (already parsed by `options`). */
  create(options: Options): Learner;
  /** Optional: the work of a fit with these options and sizes (for dry runs). */
  estimate?(options: Options, size: FitSize): WorkEstimate | undefined;
  /** Closed-form predictions for this learner on the context's target, as for `TargetFactory.theory`. */
  theory?(options: Options, context: TheoryContext): TheoryCurve[];
  /**
   * Whether its predictors implement `representation` (true), do not (false), or unsaid: a
   * transfer learner's base must not be false.
   */
  readonly representation?: boolean;
  /**
   * The related tasks of the target its fits read from `FitContext.tasks` (transfer: `source`): the
   * plan refuses a target kind whose declared `tasks` lack one, before any fit.
   */
  readonly needsTasks?: readonly string[];
}

/** A metric kind: creates metrics from parsed options. */
export interface MetricFactory<Options = unknown> extends KindFactory<Options> {
  /** A metric with these options (already parsed by `options`). */
  create(options: Options): Metric;
}

/** A backend kind: creates backends from parsed options. */
export interface BackendFactory<Options = unknown> extends KindFactory<Options> {
  /** Higher is preferred when a spec names no backend. */
  readonly priority: number;
  /** A backend with these options (already parsed by `options`). */
  create(options: Options): Backend;
}

// Symbol.for: two copies of core in one process still share the extension points.
/** The extension point of target kinds: a plugin's module binds its TargetFactory objects here. */
export const TargetFactory: ServiceIdentifier<TargetFactory> = Symbol.for('regimes.TargetFactory');
/** The extension point of learner kinds: `bind(LearnerFactory).toConstantValue(factory)`. */
export const LearnerFactory: ServiceIdentifier<LearnerFactory> = Symbol.for('regimes.LearnerFactory');
/** The extension point of metric kinds. */
export const MetricFactory: ServiceIdentifier<MetricFactory> = Symbol.for('regimes.MetricFactory');
/** The extension point of backend kinds. */
export const BackendFactory: ServiceIdentifier<BackendFactory> = Symbol.for('regimes.BackendFactory');

/** The extension points by name, as used in messages and `regimes list`. */
export const extensionPoints = {
  target: TargetFactory,
  learner: LearnerFactory,
  metric: MetricFactory,
  backend: BackendFactory,
} as const;
/** 'target' | 'learner' | 'metric' | 'backend'. */
export type ExtensionPoint = keyof typeof extensionPoints;
/** The extension points' names, in that order. */
export const extensionPointNames = Object.keys(extensionPoints) as readonly ExtensionPoint[];

type Factories = {
  target: TargetFactory;
  learner: LearnerFactory;
  metric: MetricFactory;
  backend: BackendFactory;
};
/** The factory contract of an extension point. */
export type FactoryOf<P extends ExtensionPoint> = Factories[P];

// Typed constructors: the option type is inferred from the schema (one source of truth).
/** A target factory whose `create` sees the options its zod schema outputs. */
export function defineTargetKind<S extends z.ZodType>(
  f: KindFactory<z.output<S>> & {
    options: S;
    create(o: z.output<S>, c: { rng: Rng }): Target;
    dims?(o: z.output<S>): { readonly d: number; readonly k: number };
    theory?(o: z.output<S>, c: TheoryContext): TheoryCurve[];
    tasks?: readonly string[];
  },
): TargetFactory {
  return f as unknown as TargetFactory;
}
/** A learner factory whose `create` sees the options its zod schema outputs. */
export function defineLearnerKind<S extends z.ZodType>(
  f: KindFactory<z.output<S>> & {
    options: S;
    create(o: z.output<S>): Learner;
    estimate?(o: z.output<S>, size: FitSize): WorkEstimate | undefined;
    theory?(o: z.output<S>, c: TheoryContext): TheoryCurve[];
    representation?: boolean;
    needsTasks?: readonly string[];
  },
): LearnerFactory {
  return f as unknown as LearnerFactory;
}
/** A metric factory whose `create` sees the options its zod schema outputs. */
export function defineMetricKind<S extends z.ZodType>(
  f: KindFactory<z.output<S>> & { options: S; create(o: z.output<S>): Metric },
): MetricFactory {
  return f as unknown as MetricFactory;
}
/** A backend factory whose `create` sees the options its zod schema outputs. */
export function defineBackendKind<S extends z.ZodType>(
  f: KindFactory<z.output<S>> & { options: S; priority: number; create(o: z.output<S>): Backend },
): BackendFactory {
  return f as unknown as BackendFactory;
}
