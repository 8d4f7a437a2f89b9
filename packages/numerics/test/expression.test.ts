// The expression language of specs: only the allowed names (own properties of the allow-lists,
// never the names every JavaScript object has), and bounded size and depth, each refused with a
// SpecError that says what to change — never a TypeError or a stack overflow.
import { describe, expect, it } from 'vitest';
import { EXPRESSION_LIMITS, evaluateExpression, parseExpression, SpecError } from '../src/index.js';

const problem = (text: string, variables = ['z1', 'z2']): string => {
  try {
    parseExpression(text, variables, 'target.expression');
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return (error as SpecError).problems.join('\n');
  }
  throw new Error(`${text} was accepted`);
};

describe('parseExpression', () => {
  it('evaluates what it accepts like float64 Math', () => {
    const e = parseExpression('z1^2 - 1 + erf(z2) * pi / max(z1, 2)', ['z1', 'z2']);
    expect(evaluateExpression(e, [1.5, 0.3])).toBeCloseTo(1.25 + (0.328626759 * Math.PI) / 2, 8);
  });

  it.each([
    'z1 * toString',
    '__proto__',
    'z1 + constructor',
    'valueOf',
    'hasOwnProperty(z1)',
    'toString(z1)',
    'z1 + isPrototypeOf',
  ])('refuses %j: a name every JavaScript object has is no constant or function', (text) => {
    expect(problem(text)).toMatch(
      /^target\.expression: the (symbol|function) '[\w_]+' is not allowed in .*; allowed: numbers, z1, z2/,
    );
  });

  it('refuses a text longer than the limit, and parentheses nested deeper than it, before parsing', () => {
    const terms = Array.from({ length: 20_000 }, () => 'z1').join('+');
    expect(problem(terms)).toMatch(/has 59999 characters \(at most 4000\)/);
    const nested = `${'('.repeat(5000)}z1${')'.repeat(5000)}`;
    expect(problem(nested)).toMatch(/the expression has 10002 characters/);
    const deep = `${'('.repeat(EXPRESSION_LIMITS.nesting + 1)}z1${')'.repeat(EXPRESSION_LIMITS.nesting + 1)}`;
    expect(problem(deep)).toMatch(/nests 65 parentheses deep \(at most 64\)/);
  });

  it('refuses a tree deeper than the limit within the length limit, and accepts one just under it', () => {
    // 1000 terms: a left-deep sum of depth 1000 in 3999 characters
    const long = Array.from({ length: 1000 }, () => 'z1').join('+');
    expect(long.length).toBeLessThanOrEqual(EXPRESSION_LIMITS.characters);
    expect(problem(long)).toMatch(/nests deeper than 512 operations/);
    const ok = Array.from({ length: 500 }, () => 'z1').join('+');
    expect(evaluateExpression(parseExpression(ok, ['z1']), [2])).toBe(1000);
  });
});
