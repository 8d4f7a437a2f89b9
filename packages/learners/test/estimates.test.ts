// The dry run's work estimates: every built-in learner gives one, and the two-stage learners count
// their stages (issue 15: damian and transfer had none, so a total could hide the expensive learner).
import { describe, expect, it } from 'vitest';
import { learnerFactories } from '../src/index.js';

const size = { n: 2048, d: 32, k: 1, testN: 4096 };

describe('work estimates', () => {
  it('every built-in learner kind estimates its fit with its default options', () => {
    // the options a kind needs besides its defaults (kernel: its coefficients; transfer: its base
    // entry resolved, as the plan resolves it)
    const damian = learnerFactories.find((f) => f.kind === 'damian')!;
    const needs: Record<string, object> = {
      kernel: { hermite: [0, 1, 0.5] },
      transfer: { base: { kind: 'damian', ...(damian.options.parse({}) as object) } },
    };
    for (const factory of learnerFactories) {
      const options = factory.options.parse(needs[factory.kind] ?? {});
      const e = factory.estimate?.(options, size);
      expect(e, factory.kind).toBeDefined();
      expect(e!.flops, factory.kind).toBeGreaterThan(0);
      expect(e!.bytes, factory.kind).toBeGreaterThan(0);
    }
  });

  it('a two-stage learner: the readout of a 50/50 split costs less than reusing all samples', () => {
    const damian = learnerFactories.find((f) => f.kind === 'damian')!;
    const at = (split: unknown) =>
      damian.estimate!(damian.options.parse({ split, ridge: 1e-3 }), size)!.flops;
    expect(at(0.5)).toBeLessThan(at('reuse'));
    // the step on n samples of a width-1000 net in d = 32: at least its forward pass, 2·n·N·d
    expect(at('reuse')).toBeGreaterThan(2 * size.n * 1000 * size.d);
  });

  it('transfer adds its base learner on the source samples; a plugin base has no estimate', () => {
    const transfer = learnerFactories.find((f) => f.kind === 'transfer')!;
    const damian = learnerFactories.find((f) => f.kind === 'damian')!;
    const base = { kind: 'damian', ...(damian.options.parse({}) as object) };
    const small = transfer.estimate!(transfer.options.parse({ base, sourceN: 512 }), size)!;
    const large = transfer.estimate!(transfer.options.parse({ base, sourceN: 8192 }), size)!;
    const baseAlone = (n: number) => damian.estimate!(base, { ...size, n, testN: 0 })!.flops;
    expect(large.flops - small.flops).toBeCloseTo(baseAlone(8192) - baseAlone(512), -3);
    expect(
      transfer.estimate!(transfer.options.parse({ base: { kind: 'plugin-kind', width: 64 } }), size),
    ).toBeUndefined();
  });
});
