// core's zod is the CommonJS bundle the build writes (scripts/bundle-generated.mjs), with English as
// its one locale: what that leaves on `z`, and that error messages still read as zod's English ones.
import { z as zodItself } from 'zod';
import { describe, expect, it } from 'vitest';
import { z } from '../deps/zod.js';

describe("core's zod bundle", () => {
  it('is another instance than the zod package, with English as its only locale', () => {
    expect(z).not.toBe(zodItself);
    expect(Object.keys(z.locales)).toEqual(['en']);
    expect(Object.keys(z.core.locales)).toEqual(['en']);
    // the package itself keeps them all
    expect(Object.keys(zodItself.locales).length).toBeGreaterThan(40);
  });

  it('words its issues as the zod package does', () => {
    const schema = (zz: typeof z) => zz.object({ width: zz.number().int().min(1), name: zz.string() });
    const issues = (zz: typeof z) =>
      schema(zz)
        .safeParse({ width: 0.5, name: 3 })
        .error!.issues.map((i) => i.message);
    expect(issues(z)).toEqual(issues(zodItself as typeof z));
    expect(issues(z)).toEqual([
      'Invalid input: expected int, received number',
      'Invalid input: expected string, received number',
    ]);
  });
});
