/**
 * User expressions (targets' `g(z)`, derived sweep values) parsed with mathjs and never
 * evaluated by it: the parse tree is checked against a closed set of constructs — numbers, the
 * allowed variables, + − * / ^, and a list of elementary functions — and turned into our own
 * tree, which is evaluated on the host or on tensors. Anything else (assignment, `import`,
 * `evaluate`, `createUnit`, matrices, property access, ...) is rejected with its name.
 */
import tf from '@regimes/numerics/tfjs';
import type { parse as mathjsParse } from 'mathjs/number';
import type * as NodeModule from 'node:module';
import { SpecError } from './errors.js';
import { erf } from './host/special.js';

export type Expr =
  | { kind: 'const'; value: number }
  | { kind: 'var'; index: number; name: string }
  | { kind: 'op'; op: '+' | '-' | '*' | '/' | '^'; args: [Expr, Expr] }
  | { kind: 'neg'; arg: Expr }
  | { kind: 'fn'; name: FunctionName; args: Expr[] };

interface FunctionDef {
  arity: number;
  host: (...v: number[]) => number;
  tensor: (...t: tf.Tensor[]) => tf.Tensor;
}

const functions = {
  sin: { arity: 1, host: Math.sin, tensor: (t) => tf.sin(t) },
  cos: { arity: 1, host: Math.cos, tensor: (t) => tf.cos(t) },
  tan: { arity: 1, host: Math.tan, tensor: (t) => tf.tan(t) },
  sinh: { arity: 1, host: Math.sinh, tensor: (t) => tf.sinh(t) },
  cosh: { arity: 1, host: Math.cosh, tensor: (t) => tf.cosh(t) },
  tanh: { arity: 1, host: Math.tanh, tensor: (t) => tf.tanh(t) },
  exp: { arity: 1, host: Math.exp, tensor: (t) => tf.exp(t) },
  log: { arity: 1, host: Math.log, tensor: (t) => tf.log(t) },
  sqrt: { arity: 1, host: Math.sqrt, tensor: (t) => tf.sqrt(t) },
  abs: { arity: 1, host: Math.abs, tensor: (t) => tf.abs(t) },
  sign: { arity: 1, host: Math.sign, tensor: (t) => tf.sign(t) },
  erf: { arity: 1, host: erf, tensor: (t) => tf.erf(t) },
  relu: { arity: 1, host: (v) => Math.max(v, 0), tensor: (t) => tf.relu(t) },
  floor: { arity: 1, host: Math.floor, tensor: (t) => tf.floor(t) },
  ceil: { arity: 1, host: Math.ceil, tensor: (t) => tf.ceil(t) },
  // Math.round's halves-up, not tf.round's halves-to-even, so host and tensors agree
  round: { arity: 1, host: Math.round, tensor: (t) => tf.floor(tf.add(t, 0.5)) },
  log2: { arity: 1, host: Math.log2, tensor: (t) => tf.div(tf.log(t), Math.LN2) },
  max: { arity: 2, host: Math.max, tensor: (a, b) => tf.maximum(a, b) },
  min: { arity: 2, host: Math.min, tensor: (a, b) => tf.minimum(a, b) },
} satisfies Record<string, FunctionDef>;
const functionDefs: Record<string, FunctionDef> = functions;

export type FunctionName = keyof typeof functions;
export const expressionFunctions = Object.keys(functions) as FunctionName[];
const constants: Record<string, number> = { pi: Math.PI, e: Math.E };

interface MathNode {
  type: string;
  op?: string;
  fn?: MathNode | string;
  args?: MathNode[];
  value?: unknown;
  name?: string;
  content?: MathNode;
}

type Parse = typeof mathjsParse;
let parser: Parse | undefined;

/**
 * Give numerics mathjs's `parse` (from 'mathjs/number'). Under Node it is loaded on the first
 * expression instead — importing mathjs costs ~0.8 CPU-s, paid by every CLI process and sweep
 * worker that never parses one — so only a bundle without `require` (the dashboard's page) calls this.
 */
export function provideExpressionParser(parse: Parse): void {
  parser = parse;
}

/** mathjs's number-only parser: provided, or required on first use where Node's module loader exists. */
function mathjs(): Parse {
  if (parser) return parser;
  const builtin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
    ?.getBuiltinModule;
  if (!builtin)
    throw new Error(
      'no expression parser: outside Node, call provideExpressionParser(parse) with parse from mathjs/number first',
    );
  const { createRequire } = builtin('node:module') as typeof NodeModule;
  parser = (createRequire(import.meta.url)('mathjs/number') as { parse: Parse }).parse;
  return parser;
}

/** Bounds on what a user expression may be: its length, its parentheses' nesting and its tree's depth. */
export const EXPRESSION_LIMITS = { characters: 4000, nesting: 64, depth: 512 } as const;

/** Parse `text` over the named variables; throws SpecError naming what is not allowed. */
export function parseExpression(text: string, variables: readonly string[], where = 'expression'): Expr {
  checkSize(text, where);
  let root: MathNode;
  try {
    root = mathjs()(text) as unknown as MathNode;
  } catch (error) {
    throw new SpecError([`${where}: cannot parse ${JSON.stringify(text)}: ${(error as Error).message}`]);
  }
  const allowed = `allowed: numbers, ${variables.join(', ')}, pi, e, + - * / ^, and ${expressionFunctions.join(', ')}`;
  const reject = (what: string): never => {
    throw new SpecError([`${where}: ${what} is not allowed in ${JSON.stringify(text)}; ${allowed}`]);
  };
  let depth = 0;
  const convert = (node: MathNode): Expr => {
    if (++depth > EXPRESSION_LIMITS.depth)
      throw new SpecError([
        `${where}: ${JSON.stringify(text.slice(0, 60))}… nests deeper than ${EXPRESSION_LIMITS.depth} operations; write it shorter`,
      ]);
    try {
      return convertNode(node);
    } finally {
      depth--;
    }
  };
  const convertNode = (node: MathNode): Expr => {
    switch (node.type) {
      case 'ParenthesisNode':
        return convert(node.content!);
      case 'ConstantNode': {
        if (typeof node.value !== 'number' || !Number.isFinite(node.value))
          return reject(`the constant ${JSON.stringify(node.value)}`);
        return { kind: 'const', value: node.value };
      }
      case 'SymbolNode': {
        const name = node.name!;
        const index = variables.indexOf(name);
        if (index >= 0) return { kind: 'var', index, name };
        // own properties only: `toString`, `constructor`, `__proto__` are names every object has
        if (Object.hasOwn(constants, name)) return { kind: 'const', value: constants[name]! };
        return reject(`the symbol '${name}'`);
      }
      case 'OperatorNode': {
        const args = (node.args ?? []).map(convert);
        const op = node.op!;
        if (args.length === 1 && op === '-') return { kind: 'neg', arg: args[0]! };
        if (args.length === 1 && op === '+') return args[0]!;
        if (args.length === 2 && (op === '+' || op === '-' || op === '*' || op === '/' || op === '^'))
          return { kind: 'op', op, args: [args[0]!, args[1]!] };
        return reject(`the operator '${op}'`);
      }
      case 'FunctionNode': {
        const fnNode = node.fn as MathNode;
        const name = fnNode?.type === 'SymbolNode' ? fnNode.name! : undefined;
        if (!name || !Object.hasOwn(functions, name)) return reject(`the function '${name ?? fnNode?.type}'`);
        const def = functions[name as FunctionName];
        const args = (node.args ?? []).map(convert);
        if (args.length !== def.arity)
          return reject(`${name} with ${args.length} argument(s) (it takes ${def.arity})`);
        return { kind: 'fn', name: name as FunctionName, args };
      }
      default:
        return reject(`a ${node.type.replace(/Node$/, '').toLowerCase()} expression`);
    }
  };
  return convert(root);
}

/** Refuse, before mathjs parses it, a text too long or too deeply parenthesised to be a formula. */
function checkSize(text: string, where: string): void {
  if (text.length > EXPRESSION_LIMITS.characters)
    throw new SpecError([
      `${where}: the expression has ${text.length} characters (at most ${EXPRESSION_LIMITS.characters}); write it shorter, e.g. with a preset or Hermite terms`,
    ]);
  let open = 0;
  let deepest = 0;
  for (const c of text) {
    if (c === '(' || c === '[') deepest = Math.max(deepest, ++open);
    else if (c === ')' || c === ']') open--;
  }
  if (deepest > EXPRESSION_LIMITS.nesting)
    throw new SpecError([
      `${where}: the expression nests ${deepest} parentheses deep (at most ${EXPRESSION_LIMITS.nesting})`,
    ]);
}

/** The variables an expression uses, by index. */
export function expressionVariables(expr: Expr): Set<number> {
  const out = new Set<number>();
  const walk = (e: Expr) => {
    if (e.kind === 'var') out.add(e.index);
    else if (e.kind === 'op') e.args.forEach(walk);
    else if (e.kind === 'neg') walk(e.arg);
    else if (e.kind === 'fn') e.args.forEach(walk);
  };
  walk(expr);
  return out;
}

/** Evaluate on the host in float64. */
export function evaluateExpression(expr: Expr, values: ArrayLike<number>): number {
  switch (expr.kind) {
    case 'const':
      return expr.value;
    case 'var':
      return values[expr.index]!;
    case 'neg':
      return -evaluateExpression(expr.arg, values);
    case 'fn':
      return functionDefs[expr.name]!.host(...expr.args.map((a) => evaluateExpression(a, values)));
    case 'op': {
      const a = evaluateExpression(expr.args[0], values);
      const b = evaluateExpression(expr.args[1], values);
      return expr.op === '+'
        ? a + b
        : expr.op === '-'
          ? a - b
          : expr.op === '*'
            ? a * b
            : expr.op === '/'
              ? a / b
              : a ** b;
    }
  }
}

/** Evaluate on tensors: `variable(i)` gives the i-th variable's column. Call inside tf.tidy. */
export function expressionTensor(
  expr: Expr,
  variable: (index: number) => tf.Tensor,
  like: tf.Tensor,
): tf.Tensor {
  const go = (e: Expr): tf.Tensor => {
    switch (e.kind) {
      case 'const':
        return tf.fill(like.shape, e.value);
      case 'var':
        return variable(e.index);
      case 'neg':
        return tf.neg(go(e.arg));
      case 'fn':
        return functionDefs[e.name]!.tensor(...e.args.map(go));
      case 'op': {
        if (e.op === '^' && e.args[1].kind === 'const') {
          const p = e.args[1].value;
          if (Number.isInteger(p) && p >= 0 && p <= 64) {
            let result = tf.onesLike(like);
            const base = go(e.args[0]);
            for (let i = 0; i < p; i++) result = tf.mul(result, base);
            return result; // repeated products: exact for negative bases, unlike tf.pow
          }
        }
        const a = go(e.args[0]);
        const b = go(e.args[1]);
        return e.op === '+'
          ? tf.add(a, b)
          : e.op === '-'
            ? tf.sub(a, b)
            : e.op === '*'
              ? tf.mul(a, b)
              : e.op === '/'
                ? tf.div(a, b)
                : tf.pow(a, b);
      }
    }
  };
  return go(expr);
}
