// The OpenBLAS core check (native/blas.c retuneCore): an old DYNAMIC_ARCH OpenBLAS gives a CPU it does
// not know pre-AVX kernels (Prescott for Intel before 0.3.25). OPENBLAS_CORETYPE=Prescott makes any
// OpenBLAS start that way, so a child process can play the misdetection on this machine.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBlas } from '../src/blas.js';

const { blas } = loadBlas();
const addon = fileURLToPath(new URL('../native/build/Release/regimes_blas.node', import.meta.url));
const flags = (() => {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
    return new Set(line.trim().split(/\s+/));
  } catch {
    return new Set<string>();
  }
})();
// what the CPU's features call for, as native/blas.c names it (the kernel also needs the OS's support,
// which /proc/cpuinfo's flags reflect on Linux)
const expected = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f))
  ? 'SkylakeX'
  : flags.has('avx2') && flags.has('fma')
    ? 'Haswell'
    : flags.has('avx')
      ? 'Sandybridge'
      : undefined;

// In a child: load the addon with OPENBLAS_CORETYPE=<core>, retune, and check a product against float64.
const child = `
const blas = require(${JSON.stringify(addon)});
const before = blas.config();
const replaced = blas.retuneCore();
const after = blas.config();
const again = blas.retuneCore();
const [m, k, n] = [67, 129, 93];
let seed = 7;
const draw = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
const a = Float32Array.from({ length: m * k }, draw), b = Float32Array.from({ length: k * n }, draw);
const c = new Float32Array(m * n);
blas.sgemm(false, false, m, n, k, a, 0, b, 0, c, 0);
let worst = 0;
for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
  let s = 0;
  for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
  worst = Math.max(worst, Math.abs(c[i * n + j] - s));
}
console.log(JSON.stringify({ before, replaced, after, again, env: process.env.OPENBLAS_CORETYPE, worst }));
`;
function run(core: string) {
  const result = spawnSync(process.execPath, ['-e', child], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_CORETYPE: core },
  });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
    before: string;
    replaced: string | null;
    after: string;
    again: string | null;
    env: string;
    worst: number;
  };
}

describe.skipIf(!blas?.retuneCore || expected === undefined)('OpenBLAS core check', () => {
  it("replaces a pre-AVX core by the CPU's own (products stay right), and restores the environment", () => {
    const r = run('Prescott');
    expect(r.before).toMatch(/ Prescott /);
    expect(r.replaced).toBe('Prescott');
    expect(r.after).toMatch(new RegExp(` ${expected} `));
    expect(r.again).toBeNull(); // already retuned: nothing to do
    expect(r.env).toBe('Prescott'); // the variable it set for OpenBLAS is put back
    expect(r.worst).toBeLessThan(1e-4); // |entries| ≤ ~3, k = 129: float32 rounding ~1e-6
  });

  it('leaves a core with AVX alone', () => {
    const r = run('Sandybridge');
    expect(r.replaced).toBeNull();
    expect(r.after).toBe(r.before);
    expect(r.worst).toBeLessThan(1e-4);
  });

  it('leaves OPENBLAS_CORETYPE set by the user alone (the backend reports the core it runs)', async () => {
    const script = `
      import { native } from ${JSON.stringify(new URL('../dist/native.js', import.meta.url).href)};
      const p = await native.create({}).probe();
      console.log(p.device);`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_CORETYPE: 'Prescott' },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/ Prescott /);
    expect(result.stdout).not.toMatch(/outgrows/);
  });
});
