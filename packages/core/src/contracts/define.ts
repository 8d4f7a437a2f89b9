/**
 * Kinds defined in code rather than in a plugin package: `defineTarget` wraps a TypeScript
 * function as a target, and `runExperiment` accepts factory objects in place of `{ kind }`
 * entries, registering them on the fly.
 */
import tf from '@regimes/numerics/tfjs';
import { ContainerModule } from '../../deps/inversify.js';
import { z } from '../../deps/zod.js';
import {
  type ExtensionPoint,
  extensionPoints,
  type KindFactory,
  type LearnerFactory,
  type MetricFactory,
  type Target,
  type TargetFactory,
  type TargetStructure,
} from './contracts.js';
import { PluginError, RegimesError } from './errors.js';
import { options } from './options.js';
import type { Registry } from '../registry/registry.js';
import type { Rng } from '../rng/rng.js';
import type { SpecInput } from '../spec/spec.js';

/**
 * A spec written in code: a `SpecInput` whose target, learners and metrics may also be factory
 * objects (`defineTarget(...)`, a `defineLearnerKind(...)`), registered on the fly under their kind.
 */
export type ExperimentInput = Omit<SpecInput, 'target' | 'learners' | 'metrics'> & {
  target: SpecInput['target'] | TargetFactory<unknown>;
  learners: (SpecInput['learners'][number] | LearnerFactory<unknown>)[];
  metrics?: (NonNullable<SpecInput['metrics']>[number] | MetricFactory<unknown>)[];
};
import { mapRowChunks } from '@regimes/numerics';
import { noisySample, noisySampleRows } from '../rng/sampling.js';
import { coreVersion } from '../version.js';

export interface TargetDefinition {
  /** The kind name it is registered under. */
  readonly name: string;
  readonly description?: string;
  /** Input dimension; x ~ N(0, I_d). The default of the kind's option `d`, which a spec may set or sweep. */
  readonly d: number;
  /** Output dimension k (default 1). */
  readonly outputDim?: number;
  /** The noiseless f*(x): n×d → n×k. Called in row chunks; free what it allocates (tf.tidy). */
  readonly f: (x: tf.Tensor2D) => tf.Tensor2D;
  /** Default label-noise standard deviation (an option of the kind, so it can be swept). */
  readonly noise?: number;
  readonly structure?: Omit<TargetStructure, 'noiseVariance'>;
}

/** The definition behind each factory `defineTarget` made: its identity (inlineIdentity). */
const definitions = new WeakMap<object, TargetDefinition>();
/** What tells a kind registered from code from another of its name: folded into the spec hash. */
const identities = new WeakMap<object, string>();

/**
 * The identity of a kind given in code (registered by `registerInline`), else undefined: of a
 * `defineTarget` target, its d, output dimension, default noise, structure and f's source text; of
 * another factory object, its functions' source text and its other fields. A value a function
 * reads from outside itself (a closure's variable) is not part of it.
 */
export function inlineIdentity(factory: unknown): string | undefined {
  return typeof factory === 'object' && factory !== null ? identities.get(factory) : undefined;
}

function identityOf(factory: KindFactory): string {
  const def = definitions.get(factory);
  const fields = def
    ? {
        d: def.d,
        outputDim: def.outputDim ?? 1,
        noise: def.noise ?? 0,
        structure: def.structure ?? null,
        f: def.f,
      }
    : Object.fromEntries(
        Object.entries(factory).filter(([key]) => key !== 'options' && key !== 'description'),
      );
  try {
    return JSON.stringify(fields, (_key, value: unknown) =>
      typeof value === 'function'
        ? String(value)
        : ArrayBuffer.isView(value) && !(value instanceof DataView)
          ? Array.from(value as unknown as ArrayLike<number>)
          : value,
    );
  } catch {
    // a field JSON cannot write (a cycle, a BigInt): the functions' source text alone
    return String(def?.f ?? (factory as { create?: unknown }).create);
  }
}

/** A target kind from a TypeScript function. Use it as `target:` in runExperiment, or register it. */
export function defineTarget(def: TargetDefinition): TargetFactory<{ noise: number; d?: number }> {
  const schema = options({
    noise: z
      .number()
      .min(0)
      .default(def.noise ?? 0)
      .describe('label-noise standard deviation'),
    // an option, so that it is recorded in each row, can be swept (`target.d`) and named in
    // derived values (`n: 'd^2'`); f must then take inputs of any such d
    d: z.number().int().positive().default(def.d).describe('input dimension (f is given n × d inputs)'),
  });
  const factory: TargetFactory<{ noise: number; d?: number }> = {
    kind: def.name,
    description: def.description ?? `user-defined target '${def.name}'`,
    options: schema,
    dims: ({ d = def.d }) => ({ d, k: def.outputDim ?? 1 }),
    tasks: Object.keys(def.structure?.tasks ?? {}),
    // (d absent: a caller of create itself, without the options' parse, gets the definition's)
    create({ noise, d = def.d }): Target {
      if (d !== def.d && def.structure?.subspace)
        throw new RegimesError(
          `target '${def.name}' (defineTarget): its structure's subspace U is ${def.structure.subspaceRank ?? '?'}×${def.d}, so d cannot be ${d}`,
          { hint: `keep d at ${def.d}, or define one target per d (its own U)` },
        );
      const k = def.outputDim ?? 1;
      // f inside a tidy (what it allocates besides its result is freed), its shape checked here,
      // where the fault is named: a wrong one would otherwise surface in the learner
      const f = (x: tf.Tensor2D) => {
        const y = tf.tidy(() => def.f(x));
        if (y.rank !== 2 || y.shape[0] !== x.shape[0] || y.shape[1] !== k) {
          const shape = `[${y.shape.join(', ')}]`;
          y.dispose();
          throw new RegimesError(
            `target '${def.name}' (defineTarget): f gave a tensor of shape ${shape} for ${x.shape[0]} points; it must give [${x.shape[0]}, ${k}] (one row per point, outputDim ${k} columns)`,
            {
              hint: 'return an n × outputDim tensor (tf.reshape(y, [-1, 1]) for one output), or set outputDim',
            },
          );
        }
        return y as tf.Tensor2D;
      };
      const evaluate = (x: tf.Tensor2D) => mapRowChunks(x, f);
      return {
        dim: d,
        outputDim: def.outputDim ?? 1,
        structure: { ...def.structure, noiseVariance: noise * noise },
        evaluate,
        sample: (n: number, rng: Rng) => noisySample(n, d, evaluate, noise, rng),
        sampleRows: (start: number, count: number, rng: Rng) =>
          noisySampleRows(start, count, d, evaluate, noise, rng),
      };
    },
  };
  definitions.set(factory, def);
  return factory;
}

const isFactory = (entry: unknown): entry is KindFactory & { create: unknown } =>
  typeof entry === 'object' && entry !== null && typeof (entry as { create?: unknown }).create === 'function';

/** Register a factory given in code; the same object twice is fine, another with its kind is not. */
export function registerInline(registry: Registry, point: ExtensionPoint, factory: KindFactory): void {
  if (registry.has(point, factory.kind)) {
    if ((registry.get(point, factory.kind) as KindFactory) === factory) return;
    throw new PluginError(
      `a ${point} kind '${factory.kind}' is already registered; give the one defined in code another name`,
    );
  }
  identities.set(factory, identityOf(factory));
  const id = extensionPoints[point];
  registry.use(
    {
      name: `inline:${point}:${factory.kind}`,
      version: coreVersion,
      core: `^${coreVersion}`,
      module: new ContainerModule(({ bind }) => {
        bind(id).toConstantValue(factory as never);
      }),
    },
    'code',
  );
}

/**
 * Replace factory objects in a spec (target, learners, metrics) by `{ kind }` entries and
 * register them, so specs written in code may carry their own kinds.
 */
export function registerInlineKinds<T>(input: T, registry: Registry): T {
  if (typeof input !== 'object' || input === null) return input;
  const spec = { ...(input as Record<string, unknown>) };
  if (isFactory(spec.target)) {
    registerInline(registry, 'target', spec.target);
    spec.target = { kind: spec.target.kind };
  }
  if (Array.isArray(spec.learners)) {
    spec.learners = spec.learners.map((l) => {
      if (!isFactory(l)) return l;
      registerInline(registry, 'learner', l);
      return { kind: l.kind };
    });
  }
  if (Array.isArray(spec.metrics)) {
    spec.metrics = spec.metrics.map((m) => {
      if (!isFactory(m)) return m;
      registerInline(registry, 'metric', m);
      return m.kind;
    });
  }
  return spec as T;
}
