import { describe, expect, it } from 'vitest';
import { philox4x32, Rng } from '../src/rng/rng.js';

const hex = (words: Uint32Array) => Array.from(words, (w) => w.toString(16).padStart(8, '0'));

describe('Philox4x32-10', () => {
  // Known-answer vectors published with Random123 (Salmon et al. 2011), kat_vectors.
  it.each([
    [
      [0, 0, 0, 0],
      [0, 0],
      ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8'],
    ],
    [
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd'],
    ],
    [
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      ['d16cfe09', '94fdcceb', '5001e420', '24126ea1'],
    ],
  ])('matches the Random123 known answer for counter %j, key %j', (counter, key, expected) => {
    expect(hex(philox4x32(counter, key))).toEqual(expected);
  });
});

describe('Rng', () => {
  it('gives the same numbers for the same seed and path, other numbers otherwise', () => {
    const a = Rng.fromSeed(42).child('data').normal(100);
    expect(Rng.fromSeed(42).child('data').normal(100)).toEqual(a);
    expect(Rng.fromSeed(43).child('data').normal(100)).not.toEqual(a);
    expect(Rng.fromSeed(42).child('init').normal(100)).not.toEqual(a);
  });

  it('derives children from the key and name only, not from what the parent has drawn', () => {
    const fresh = Rng.fromSeed(7);
    const used = Rng.fromSeed(7);
    used.normal(1000);
    used.child('other').uniform(10);
    expect(used.child('learner', 'rf#0').uniform(16)).toEqual(fresh.child('learner', 'rf#0').uniform(16));
  });

  it('gives the same sequence however the draws are split into calls', () => {
    const whole = Rng.fromSeed(1).normal(10);
    const split = Rng.fromSeed(1);
    const parts = [...split.normal(4), ...split.normal(6)];
    expect(Float32Array.from(parts)).toEqual(whole);
    const u = Rng.fromSeed(2).uniform(9);
    const v = Rng.fromSeed(2);
    expect(Float64Array.from([...v.uniform(5), ...v.uniform(4)])).toEqual(u);
  });

  it('draws the Philox words of each position: a block per 4 words, counter (block, 0, 0), key the seed', () => {
    const seed = 2 ** 40 + 12345;
    const key = [seed >>> 0, Math.floor(seed / 2 ** 32)];
    const word = (p: number) => {
      const block = Math.floor(p / 4);
      return philox4x32([block >>> 0, Math.floor(block / 2 ** 32), 0, 0], key)[p % 4]!;
    };
    // positions in the first block, across blocks, and past 2^32 blocks (the counter's second word)
    for (const start of [0, 3, 2 ** 34 + 1, 2 ** 36 - 3]) {
      const got = Rng.fromSeed(seed).seek(start).uint32(11);
      expect(Array.from(got)).toEqual(Array.from({ length: 11 }, (_, i) => word(start + i)));
    }
    // normals: Box–Muller on the pair (p, p + 1), p even (an odd position moves to the next pair)
    for (const start of [0, 5, 2 ** 34 + 2]) {
      const got = Rng.fromSeed(seed).seek(start).normal(7, new Float64Array(7));
      let p = start + (start % 2);
      const expected = [];
      while (expected.length < 7) {
        const radius = Math.sqrt(-2 * Math.log((word(p) + 0.5) / 2 ** 32));
        const angle = 2 * Math.PI * ((word(p + 1) + 0.5) / 2 ** 32);
        expected.push(radius * Math.cos(angle), radius * Math.sin(angle));
        p += 2;
      }
      expect(Array.from(got)).toEqual(expected.slice(0, 7));
      // the default float32 draw (and one into a given Float32Array) is that draw rounded, value by value
      const rounded = expected.slice(0, 7).map(Math.fround);
      expect(Array.from(Rng.fromSeed(seed).seek(start).normal(7))).toEqual(rounded);
      expect(Array.from(Rng.fromSeed(seed).seek(start).normal(7, new Float32Array(7)))).toEqual(rounded);
    }
  });

  it('draws standard normals: mean, variance and kurtosis within 5 standard errors (fixed seed)', () => {
    const m = 200_000;
    const x = Rng.fromSeed(3).normal(m, new Float64Array(m));
    const mean = x.reduce((a, b) => a + b, 0) / m;
    const variance = x.reduce((a, b) => a + b * b, 0) / m;
    const fourth = x.reduce((a, b) => a + b ** 4, 0) / m;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(m)); // sd of the mean: 1/√m
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / m)); // Var(x²) = 2
    expect(Math.abs(fourth - 3)).toBeLessThan(5 * Math.sqrt(96 / m)); // Var(x⁴) = 105 − 9
  });

  it('draws uniforms in (0, 1) with mean 1/2 and variance 1/12', () => {
    const m = 100_000;
    const u = Rng.fromSeed(4).uniform(m);
    expect(u.every((v) => v > 0 && v < 1)).toBe(true);
    const mean = u.reduce((a, b) => a + b, 0) / m;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / m));
  });

  it('draws permutations that are permutations, each position uniform', () => {
    const counts = new Array(5).fill(0);
    const rng = Rng.fromSeed(5);
    for (let t = 0; t < 5000; t++) {
      const p = rng.permutation(5);
      expect([...p].sort()).toEqual([0, 1, 2, 3, 4]);
      counts[p[0]!]++;
    }
    // Each value lands first with probability 1/5: binomial sd √(5000·0.2·0.8) ≈ 28.
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(5 * 28.3);
  });

  it('rejects seeds that are not integers in [0, 2^53)', () => {
    expect(() => Rng.fromSeed(-1)).toThrow(/seed must be an integer/);
    expect(() => Rng.fromSeed(0.5)).toThrow(/seed must be an integer/);
  });
});
