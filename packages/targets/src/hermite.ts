/**
 * `hermite`: the multi-index model f*(x) = g(Ux), x ~ N(0, I_d), U ∈ R^{r×d} with orthonormal
 * rows (seeded, or given), g a function of z = Ux ~ N(0, I_r). Because z is standard normal, the
 * Hermite expansion of f* in x is that of g in z, so the energies ‖P_k f*‖² are those of g.
 * g is given as Hermite terms, a named preset, or a mathjs expression.
 */
import {
  defineTargetKind,
  options,
  randomOrthonormalRows,
  type Rng,
  SpecError,
  type Target,
  type TargetStructure,
  z,
  noisySample,
  noisySampleRows,
} from '@regimes/core';
import { type Expr, expressionTensor, expressionVariables, parseExpression } from '@regimes/numerics';
import tf from '@regimes/numerics/tfjs';
import { evaluateHermiteTerms, hermiteEnergies, projectOnHermite } from './hermite-basis.js';
import { combineTerms, degreeOf, type HermiteTerm, hermiteExpansion, polynomialOf } from './polynomial.js';
import { staircaseTheory } from './staircase.js';

export const hermitePresets = ['single', 'sum', 'staircase', 'product', 'damian'] as const;
export type HermitePreset = (typeof hermitePresets)[number];

const term = (coef: number, alpha: number[]): HermiteTerm => ({ coef, alpha });
const unit = (r: number, i: number, k: number) => Array.from({ length: r }, (_, j) => (j === i ? k : 0));

/** The Hermite terms of a preset g in r variables with degree parameter k. */
export function presetTerms(preset: HermitePreset, r: number, k: number): HermiteTerm[] {
  switch (preset) {
    case 'single': // h_k(z_1)
      return [term(1, unit(r, 0, k))];
    case 'sum': // Σ_i h_k(z_i)
      return Array.from({ length: r }, (_, i) => term(1, unit(r, i, k)));
    case 'staircase': // z_1 + z_1 z_2 + z_1 z_2 z_3 + … (Abbe et al.'s staircase): products of distinct h_1
      return Array.from({ length: r }, (_, i) =>
        term(
          1,
          Array.from({ length: r }, (_, j) => (j <= i ? 1 : 0)),
        ),
      );
    case 'product': // Π_i h_k(z_i)
      return [term(1, new Array(r).fill(k))];
    case 'damian':
      // Damian, Lee & Soltanolkotabi 2022 assume E[∇²f*] has rank r: a full-rank degree-2 part along
      // span U, here Σ_i h_2(z_i)/√r, plus the degree-k part Σ_i h_k(z_i)/√r that kernels find costly.
      return [
        ...Array.from({ length: r }, (_, i) => term(1 / Math.sqrt(r), unit(r, i, 2))),
        ...(k === 2 ? [] : Array.from({ length: r }, (_, i) => term(1 / Math.sqrt(r), unit(r, i, k)))),
      ];
  }
}

const hermiteTermSchema = z.strictObject({
  coef: z.number().describe('coefficient on the orthonormal h_α'),
  alpha: z.array(z.number().int().min(0).max(16)).min(1).describe('multi-index α, one entry per z_i'),
});

/** How g is given: one of preset, terms, expression (shared by hermite and transfer). */
export const linkShape = {
  preset: z.enum(hermitePresets).optional().describe('named g (default single); see docs/targets.md'),
  degree: z.number().int().min(0).max(12).default(2).describe('k: the degree parameter of the preset'),
  terms: z.array(hermiteTermSchema).min(1).optional().describe('g = Σ coef·h_α(z)'),
  expression: z.string().min(1).optional().describe('g as a mathjs expression in z1..zr'),
  maxDegree: z
    .number()
    .int()
    .min(0)
    .max(16)
    .default(8)
    .describe('degrees projected for a non-polynomial expression'),
  normalize: z.boolean().default(false).describe('rescale g to mean 0 and variance 1'),
};

const subspaceShape = {
  d: z.number().int().min(1).describe('input dimension'),
  r: z.number().int().min(1).default(1).describe('number of relevant directions (rows of U)'),
  subspace: z.array(z.array(z.number())).optional().describe('U given as r rows of length d (orthonormal)'),
};

type LinkInput = {
  preset?: string | undefined;
  terms?: { alpha: number[] }[] | undefined;
  expression?: string | undefined;
};
type Issues = { addIssue(issue: { code: 'custom'; path: (string | number)[]; message: string }): void };

/** Cross-field checks of a g: one form only, α of length r, an expression that parses. */
export function checkLink(o: LinkInput, r: number, ctx: Issues, prefix: (string | number)[] = []): void {
  const forms = (['preset', 'terms', 'expression'] as const).filter((k) => o[k] !== undefined);
  if (forms.length > 1)
    ctx.addIssue({
      code: 'custom',
      path: [...prefix, forms[1]!],
      message: `give g one way: ${forms.join(' and ')} were both given`,
    });
  o.terms?.forEach((t, i) => {
    if (t.alpha.length !== r)
      ctx.addIssue({
        code: 'custom',
        path: [...prefix, 'terms', i, 'alpha'],
        message: `has ${t.alpha.length} entries; r is ${r}`,
      });
  });
  if (o.preset === 'staircase' && r < 2)
    ctx.addIssue({
      code: 'custom',
      path: [...prefix, 'preset'],
      message: `staircase with r = ${r} is z1 alone (degree 1): set r >= 2, its degree is r`,
    });
  if (o.expression) {
    try {
      parseExpression(o.expression, variablesOf(r), 'expression');
    } catch (error) {
      const message =
        error instanceof SpecError ? error.problems[0]!.replace(/^expression: /, '') : String(error);
      ctx.addIssue({ code: 'custom', path: [...prefix, 'expression'], message });
    }
  }
}

/**
 * The options of a g that change nothing given how g is given (KindFactory.unused); `r`, the
 * number of variables, tells a polynomial expression (expanded exactly: maxDegree changes nothing).
 */
export function unusedLinkOptions(o: LinkInput, r?: number): Record<string, string> {
  const unused: Record<string, string> = {};
  const form = o.terms ? 'terms' : o.expression ? 'expression' : undefined;
  if (form) unused.degree = `when g is given by ${form} (degree is the parameter of a preset)`;
  else if (o.preset === 'staircase') unused.degree = 'under preset staircase: its degree is r (set r)';
  if (!o.expression) unused.maxDegree = 'without an expression (only an expression is projected on degrees)';
  else if (r !== undefined && polynomialExpression(o.expression, r))
    unused.maxDegree = 'when the expression is a polynomial (expanded exactly, at every degree)';
  return unused;
}

/** Whether an expression in z1..zr parses to a polynomial the target expands exactly. */
function polynomialExpression(expression: string, r: number): boolean {
  try {
    return polynomialOf(parseExpression(expression, variablesOf(r), 'expression'), r) !== undefined;
  } catch {
    return false; // one that does not parse is refused by the schema, with its own message
  }
}

/** Checks of d, r and a given U. */
export function checkSubspace(
  o: { d: number; r: number; subspace?: number[][] | undefined },
  ctx: Issues,
): void {
  if (o.r > o.d)
    ctx.addIssue({ code: 'custom', path: ['r'], message: `r (${o.r}) must be at most d (${o.d})` });
  if (!o.subspace) return;
  const rows = o.subspace;
  if (rows.length !== o.r || rows.some((row) => row.length !== o.d)) {
    ctx.addIssue({ code: 'custom', path: ['subspace'], message: `must be r×d = ${o.r}×${o.d}` });
    return;
  }
  for (let i = 0; i < o.r; i++)
    for (let j = 0; j <= i; j++) {
      const dot = rows[i]!.reduce((s, v, k) => s + v * rows[j]![k]!, 0);
      if (Math.abs(dot - (i === j ? 1 : 0)) > 1e-6)
        return ctx.addIssue({
          code: 'custom',
          path: ['subspace'],
          message: `rows must be orthonormal: row ${i}·row ${j} = ${dot.toPrecision(6)}`,
        });
    }
}

const variablesOf = (r: number) => Array.from({ length: r }, (_, i) => `z${i + 1}`);

export const hermiteOptions = options({
  ...subspaceShape,
  ...linkShape,
  noise: z.number().min(0).default(0).describe('standard deviation of Gaussian label noise'),
}).superRefine((o, ctx) => {
  checkSubspace(o, ctx);
  checkLink(o, o.r, ctx);
});

/** `transfer`: two g's on one U (Damian et al.'s transfer setting). */
export const transferOptions = options({
  ...subspaceShape,
  source: options(linkShape).describe('g of the source task'),
  destination: options(linkShape).describe('g of the destination task (what sample and evaluate give)'),
  noise: z.number().min(0).default(0).describe('standard deviation of Gaussian label noise (both tasks)'),
}).superRefine((o, ctx) => {
  checkSubspace(o, ctx);
  checkLink(o.source, o.r, ctx, ['source']);
  checkLink(o.destination, o.r, ctx, ['destination']);
});

export type HermiteOptions = z.output<typeof hermiteOptions>;

/** A seeded U with orthonormal rows (Gram–Schmidt on Gaussian rows), or the one given. */
export function subspaceOf(
  o: { d: number; r: number; subspace?: number[][] | undefined },
  rng: Rng,
): Float64Array {
  if (o.subspace) return Float64Array.from(o.subspace.flat());
  return randomOrthonormalRows(rng, o.r, o.d);
}

/** g in closed form: exact Hermite terms, or an expression with its projected spectrum. */
interface Link {
  evaluate(z: tf.Tensor2D): tf.Tensor2D;
  terms?: HermiteTerm[];
  energy: number[];
  tail: number;
  method: NonNullable<TargetStructure['hermiteMethod']>;
  mean: number;
  variance: number;
}

type LinkOptions = z.output<z.ZodObject<typeof linkShape>>;

function linkOf(o: LinkOptions, r: number, rng: Rng): Link {
  let terms: HermiteTerm[] | undefined;
  let expr: Expr | undefined;
  if (o.expression) {
    expr = parseExpression(o.expression, variablesOf(r), 'target.expression');
    const poly = polynomialOf(expr, r);
    if (poly) terms = hermiteExpansion(poly);
  } else {
    terms = combineTerms(
      o.terms
        ? o.terms.map((t) => ({ coef: t.coef, alpha: t.alpha }))
        : presetTerms(o.preset ?? 'single', r, o.degree),
    );
  }
  if (terms) {
    const energy = hermiteEnergies(terms);
    const mean = terms.find((t) => degreeOf(t.alpha) === 0)?.coef ?? 0;
    const exact = terms;
    return {
      evaluate: (zz) => evaluateHermiteTerms(exact, zz),
      terms,
      energy,
      tail: 0,
      method: 'exact',
      mean,
      variance: energy.reduce((a, b) => a + b, 0) - mean * mean,
    };
  }
  const e = expr!;
  const projection = projectOnHermite(e, r, o.maxDegree, rng.child('projection'));
  if (!Number.isFinite(projection.total))
    throw new SpecError([
      `target.expression: g = ${o.expression} is not finite on part of the Gaussian's mass (E g² over ${projection.points} ${projection.method} points is ${projection.total}): f* must be defined for z ~ N(0, I); e.g. sqrt(abs(z1 + 3)) or relu inside sqrt/log`,
    ]);
  const unsettled = Math.abs(projection.check - projection.total) / projection.total;
  if (unsettled > 0.03)
    throw new SpecError([
      `target.expression: g = ${o.expression} has no finite E g² that quadrature can settle: ${projection.total.toPrecision(4)} on one grid, ${projection.check.toPrecision(4)} on another (${(unsettled * 100).toPrecision(2)}% apart), as for a pole whose square is not integrable against the normal density (1/z1, tan(z1), 1/abs(z1)^0.6); f* must have E f*² < ∞: remove the pole, e.g. z1/(1 + z1^2) or sign(z1)*min(abs(1/z1), 10)`,
    ]);
  if (projection.edge > 1e-6)
    throw new SpecError([
      `target.expression: g = ${o.expression} grows too fast for its Hermite projection: ${(projection.edge * 100).toPrecision(2)}% of E g² lies at |z| > 9, near the edge of the quadrature's ±10, so the variance and energies would be wrong (exp(4*z1) came out 2.3% low, exp(6*z1) 98%); use a polynomial (expanded exactly where each power p^k has degree ≤ 24: z1^13*z2^13 is, (z1*z2)^13 is not) or a g that grows at most like exp(2|z|)`,
    ]);
  // by Monte Carlo, the split-sample energies, up to the highest degree with any
  const top = projection.energy.findLastIndex((e) => e > 0);
  const energy =
    projection.method === 'quadrature'
      ? hermiteEnergies(projection.terms)
      : projection.energy.slice(0, Math.max(1, top + 1));
  const mean = projection.terms.find((t) => degreeOf(t.alpha) === 0)?.coef ?? 0;
  const used = expressionVariables(e);
  return {
    evaluate: (zz) =>
      tf.tidy(() => {
        const n = zz.shape[0];
        const column = (i: number) => tf.slice(zz, [0, i], [n, 1]);
        const like = tf.zeros([n, 1]);
        const out = expressionTensor(e, (i) => (used.has(i) ? column(i) : like), like);
        return tf.reshape(out, [n, 1]) as tf.Tensor2D;
      }),
    energy,
    tail: Math.max(0, projection.total - energy.reduce((a, b) => a + b, 0)),
    method: projection.method,
    mean,
    variance: projection.total - mean * mean,
  };
}

/** f*(x) = g(Ux) as a Target: the shared machinery of hermite, hierarchical and transfer. */
export function multiIndexTarget(
  d: number,
  u: Float64Array,
  r: number,
  link: Pick<Link, 'evaluate' | 'energy' | 'tail' | 'method' | 'mean' | 'variance' | 'terms'>,
  normalize: boolean,
  noise: number,
  extra: Partial<TargetStructure> = {},
): Target {
  const shift = normalize ? link.mean : 0;
  const scale = normalize ? 1 / Math.sqrt(link.variance) : 1;
  if (normalize && !(link.variance > 0)) {
    throw new SpecError(['target.normalize: g is constant (variance 0) and cannot be normalized']);
  }
  const energy = link.energy.map((e, k) => (k === 0 ? (link.mean - shift) ** 2 : e) * scale * scale);
  const terms = link.terms
    ?.map((t) => ({ coef: (degreeOf(t.alpha) === 0 ? t.coef - shift : t.coef) * scale, alpha: t.alpha }))
    .filter((t) => t.coef !== 0);
  const projection = Float32Array.from(u);
  // U is uploaded per call (r·d floats), so the target owns no tensor and needs no disposal.
  const evaluate = (x: tf.Tensor2D) =>
    tf.tidy(() => {
      const g = link.evaluate(tf.matMul(x, tf.tensor2d(projection, [r, d]), false, true));
      return (normalize ? tf.mul(tf.sub(g, shift), scale) : g) as tf.Tensor2D;
    });
  return {
    dim: d,
    outputDim: 1,
    structure: {
      subspace: u,
      subspaceRank: r,
      hermiteEnergy: energy,
      hermiteTail: link.tail * scale * scale,
      hermiteMethod: link.method,
      ...(terms ? { hermiteTerms: terms } : {}),
      noiseVariance: noise * noise,
      ...extra,
    },
    evaluate,
    sample: (n, rng) => noisySample(n, d, evaluate, noise, rng),
    sampleRows: (start, count, rng) => noisySampleRows(start, count, d, evaluate, noise, rng),
  };
}

export const hermite = defineTargetKind({
  kind: 'hermite',
  tasks: [], // no related tasks (structure.tasks)
  description:
    'multi-index f*(x) = g(Ux), x ~ N(0, I_d), U r×d orthonormal; g by Hermite terms, preset or expression',
  options: hermiteOptions,
  unused: (o) => unusedLinkOptions(o, o.r),
  dims: (o) => ({ d: o.d, k: 1 }),
  create(o, { rng }): Target {
    const u = subspaceOf(o, rng.child('U'));
    return multiIndexTarget(o.d, u, o.r, linkOf(o, o.r, rng), o.normalize, o.noise);
  },
  // The energies do not depend on U, but a projected expression's do on the rng: the run's target
  // (the caller's, which it may have built already), else its g rebuilt from that rng.
  theory: (o, context) =>
    staircaseTheory(
      context.targetStructure?.().structure ??
        multiIndexTarget(
          o.d,
          new Float64Array(o.r * o.d),
          o.r,
          linkOf(o, o.r, context.rng),
          o.normalize,
          o.noise,
        ).structure,
      o.d,
      context,
    ),
});

export const transfer = defineTargetKind({
  kind: 'transfer',
  tasks: ['source', 'destination'], // structure.tasks: transfer's base learner is fitted on source
  description: 'two multi-index tasks g_source(Ux), g_destination(Ux) sharing U; samples the destination',
  options: transferOptions,
  dims: (o) => ({ d: o.d, k: 1 }),
  // each g's options that change nothing, as hermite's: `source.degree` under preset staircase, …
  unused: (o) =>
    Object.fromEntries(
      (['source', 'destination'] as const).flatMap((which) =>
        Object.entries(unusedLinkOptions(o[which], o.r)).map(([field, why]) => [`${which}.${field}`, why]),
      ),
    ),
  create(o, { rng }): Target {
    const u = subspaceOf(o, rng.child('U'));
    const task = (which: 'source' | 'destination') =>
      multiIndexTarget(o.d, u, o.r, linkOf(o[which], o.r, rng.child(which)), o[which].normalize, o.noise);
    const source = task('source');
    const destination = task('destination');
    return { ...destination, structure: { ...destination.structure, tasks: { source, destination } } };
  },
});
