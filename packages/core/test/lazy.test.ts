import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { satisfies, validRange, validVersion, yaml } from '../src/lazy.js';

// The manifest checks' own answers for plain versions and caret ranges, against semver's on a grid
// that crosses every boundary of the caret rule (major 0 or not, minor 0 or not, patch below/at/above).
const numbers = [0, 1, 2, 10];
const plain = numbers.flatMap((x) => numbers.flatMap((y) => numbers.map((z) => `${x}.${y}.${z}`)));

describe('lazy semver: plain versions and caret ranges without loading semver', () => {
  it('agrees with semver.satisfies (includePrerelease) on every plain version against every caret range', () => {
    let compared = 0;
    for (const v of plain)
      for (const r of plain.map((p) => `^${p}`)) {
        expect(satisfies(v, r), `${v} in ${r}`).toBe(semver.satisfies(v, r, { includePrerelease: true }));
        compared++;
      }
    expect(compared).toBe(64 * 64);
  });

  it('hands anything else to semver: prereleases, other ranges, invalid input', () => {
    const cases: [string, string][] = [
      ['0.2.0-rc.1', '^0.2.0-rc.0'],
      ['0.2.0-rc.1', '^0.2.0'],
      ['1.4.0', '>=1.2 <2'],
      ['1.4.0', '~1.4'],
      ['1.4.0', '1.x || 2.x'],
      ['v1.2.3', '^1.0.0'],
      ['1.2', '^1.0.0'],
      ['1.2.3', 'not a range'],
    ];
    for (const [v, r] of cases)
      expect(satisfies(v, r), `${v} in ${r}`).toBe(semver.satisfies(v, r, { includePrerelease: true }));
    for (const v of [
      '1.2.3',
      '01.2.3',
      '1.2',
      'v1.2.3',
      '1.2.3-beta.1',
      '1.2.3+build',
      'x',
      '99999999999999999.0.0',
    ])
      expect(validVersion(v), v).toBe(semver.valid(v) !== null);
    for (const r of ['^0.1.0', '^01.0.0', '~1.2', '>=1 <2', '*', 'nope', '^1.2.3-rc.1'])
      expect(validRange(r), r).toBe(semver.validRange(r) !== null);
  });

  it('loads yaml on first use and returns the same module after', () => {
    const first = yaml();
    expect(first.parse('a: [1, 2]')).toEqual({ a: [1, 2] });
    expect(yaml()).toBe(first);
  });
});
