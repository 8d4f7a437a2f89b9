#!/usr/bin/env node
// `npm run bench`: regimes' computations beside the same ones in numpy (float32) in one run.
// Prints a table and writes bench-results/bench.json. Speed goals live here, never in unit tests.
//   npm run bench [-- --quick] [-- --backend wasm] [-- --only 'ntk ridge|GEMM']  (cases whose name contains one of them)
//   [-- --no-sweep]  (skip the sweep through the CLI)  [-- --sweep-reps n]  (repetitions of each sweep; 3, --quick 1)
//   [-- --without-openblas]  (native on its own SGEMM: the addon rebuilt with REGIMES_NO_OPENBLAS=1 into
//   bench-results/, as on a machine without OpenBLAS)  [-- --prebuilt]  (native on the addon committed for
//   this platform, what a machine without a C compiler loads: REGIMES_NATIVE_ADDON=prebuilt)
//   [-- --warm]  (accepted for older command lines: since 2026-12-07 every case runs twice on both
//   sides, the better of the two reported and the first printed as cold: the first pays one-off costs
//   such as a GPU's shader compilation, a JIT's first pass, fresh pages)
// numpy's side (numpy_bench.py --serve) answers each case right after ours, in one Python process:
// both sides see the same minutes of this VM's drifting speed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { activateBackend, Rng } from '@regimes/core';
import { choleskyPanels, choleskySolveTensor, disposeFactor, symmetricEigenSolver } from '@regimes/numerics';
import { hugePageMode } from '@regimes/backend-node';
import { createRegistry } from '@regimes/cli';
import {
  disposeFit,
  dualSystem,
  fitRidge,
  kernelPanels,
  neuralTangentKernel,
  ntkKernel,
  randomFeatures,
} from '@regimes/learners';
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from './args.mjs';
import { deepKernelCases } from './deep-cases.mjs';
import { countDispatches } from './dispatch-counts.mjs';
import { twoLayerTraining } from './train-step.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// the command, run in processes of their own by the end-to-end case and the sweeps
const cliBin = join(here, '..', 'packages', 'cli', 'bin', 'regimes.js');

/** `regimes <args>` in a process of its own: its wall seconds and stderr; an error with its stderr if it fails. */
function timedRegimes(args, env = process.env) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cliBin, ...args], { encoding: 'utf8', env });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`regimes ${args[0]} exited ${r.status}: ${r.stderr.trim()}`);
  return { seconds, stderr: r.stderr };
}
const args = parseArgs(
  process.argv.slice(2),
  {
    values: ['--backend', '--only', '--sweep-reps'],
    flags: ['--quick', '--no-sweep', '--warm', '--without-openblas', '--prebuilt'],
  },
  `npm run bench [-- --quick] [-- --backend KIND] [-- --only 'ntk ridge|GEMM'] [-- --no-sweep] [-- --sweep-reps N]
                [-- --without-openblas] [-- --prebuilt] [-- --warm]   (each option: bench/run.mjs's header)`,
);
const quick = args.has('--quick');
const backendName = args.value('--backend', undefined);
const only = args.value('--only', undefined);
const noSweep = args.has('--no-sweep');
const warmFlag = args.has('--warm');
// each sweep runs --jobs 1, --jobs 2, --jobs 1, ... this many times: the VM's speed drifts by 10–50%
// over minutes, so one pair can mislead; the table gives the median pair and the range of ratios
const sweepReps = Number(args.value('--sweep-reps', quick ? 1 : 3));
if (!Number.isInteger(sweepReps) || sweepReps < 1)
  args.refuse(`--sweep-reps is ${args.value('--sweep-reps')}: give a whole number of repetitions, 1 or more`);
const silent = { debug() {}, info() {}, warn() {} };

if (args.has('--without-openblas')) {
  const addon = join(here, '..', 'bench-results', 'without-openblas', 'regimes_blas.node');
  const built = spawnSync(
    process.execPath,
    [join(here, '..', 'packages', 'backend-node', 'scripts', 'build-native.mjs')],
    { env: { ...process.env, REGIMES_NO_OPENBLAS: '1', REGIMES_NATIVE_OUT: addon }, encoding: 'utf8' },
  );
  process.stderr.write(built.stdout);
  process.env.REGIMES_NATIVE_ADDON = addon; // for this process and the sweep's
} else if (args.has('--prebuilt')) {
  process.env.REGIMES_NATIVE_ADDON = 'prebuilt'; // for this process and the sweep's
}

// numpy's side runs in the environment the bench was started with: `native` sets
// OPENBLAS_THREAD_TIMEOUT for its own OpenBLAS when it loads (backend-node's blas.ts)
const numpyEnv = { ...process.env };
const registry = createRegistry();
const { kind: backend } = await activateBackend(registry, backendName);

// kernels dispatched and tensors read back during a case's reported run
const counts = countDispatches();
// one-off costs (shader compilation) weigh on a GPU's first run of each case
// every case runs twice on both sides, the better of the two reported and the first printed as cold
// (--warm, kept for older command lines, changes nothing); a case marked `once` (the peak memory of a
// process of its own) runs once
void warmFlag;

/**
 * numpy's side as one Python process (numpy_bench.py --serve) that answers a case right after ours:
 * `ask` resolves to { cold, warm } seconds, or null where Python or numpy is missing.
 */
function numpyServer() {
  const child = spawn('python3', [join(here, 'numpy_bench.py'), '--serve'], {
    env: numpyEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines = [];
  const waiting = [];
  let ended = false;
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else lines.push(line);
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const end = () => {
    ended = true;
    for (const next of waiting.splice(0)) next(null);
  };
  child.on('close', end);
  child.on('error', end);
  child.stdin.on('error', () => {}); // a Python that exited: its answers are null
  const line = () =>
    lines.length
      ? Promise.resolve(lines.shift())
      : ended
        ? Promise.resolve(null)
        : new Promise((r) => waiting.push(r));
  const header = line().then((l) => (l ? JSON.parse(l) : null));
  return {
    header,
    async ask(c) {
      if (!(await header)) return null;
      child.stdin.write(`${JSON.stringify(c)}\n`);
      const answer = await line();
      return answer ? JSON.parse(answer) : null;
    },
    close: () => child.stdin.end(),
    stderr: () => stderr,
  };
}

/** Seconds for the tables: three decimals, or two significant digits below 0.01 s (GEMM 256²). */
const seconds = (s) => (s < 0.01 ? s.toPrecision(2) : s.toFixed(3));

async function bestOf(repeat, fn) {
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

const normal = (rows, cols, seed) => tf.tensor2d(Rng.fromSeed(seed).normal(rows * cols), [rows, cols]);
const context = (seed) => ({
  rng: Rng.fromSeed(seed),
  signal: new AbortController().signal,
  progress() {},
  log: silent,
});

/**
 * The NTK system of n points (+ nλI, λ = 1e-3) factored by choleskyPanels and solved once. The
 * kernel is built before the clock starts, as numpy's side builds its matrix first: its panels are
 * kept and handed to the factorization as they are asked for.
 */
async function choleskySolveCase(n, d, options) {
  const x = normal(n, d, 3);
  const y = normal(n, 1, 4);
  const { panels: build, release } = kernelPanels(x, ntkKernel('relu', 'both'));
  const built = new Map();
  for (let s = 0; s < n; s += 256) built.set(`${s}:${Math.min(256, n - s)}`, build(s, Math.min(256, n - s)));
  const panels = (start, size) => {
    const kept = built.get(`${start}:${size}`);
    return kept ? tf.clone(kept) : build(start, size);
  };
  await Promise.all([...built.values()].map((p) => p.data()));
  const t = await bestOf(1, async () => {
    const f = await choleskyPanels(panels, n, { shift: n * 1e-3, ...options });
    const sol = choleskySolveTensor(f, y);
    await sol.data();
    sol.dispose();
    disposeFactor(f);
  });
  release();
  tf.dispose([x, y, ...built.values()]);
  return t;
}

const sizes = quick ? [1024] : [2048, 8192];
const cases = [];
for (const n of [256, 1024, 2048]) {
  const repeat = n <= 256 ? 20 : n <= 1024 ? 5 : 2;
  cases.push({
    name: `GEMM ${n}² float32`,
    kind: 'gemm',
    n,
    repeat,
    flops: 2 * n ** 3,
    run: async () => {
      const a = normal(n, n, 1);
      const b = normal(n, n, 2);
      // the product is waited for by reading one entry (a GPU queue must finish first), not the
      // whole result: numpy's product also stays where it was computed, and reading n² floats into
      // fresh JavaScript memory costs more than the product here (first touch of a page ≈ 4 µs on
      // this VM: 15 ms of the 27 ms a 1024² product took with a full read)
      const product = async () => {
        const c = tf.matMul(a, b);
        const corner = tf.slice(c, [0, 0], [1, 1]);
        await corner.data();
        tf.dispose([c, corner]);
      };
      // products first, untimed, as numpy_bench.py does: GEMM 256² is the bench's first case, and
      // its first calls ran tfjs's op path before V8 had optimised it (0.81 ms a 256² product at best
      // of five, 0.46 ms after one untimed call, 0.18 ms warm: 2026-12-05)
      for (let i = 0; i < (n <= 256 ? 20 : 1); i++) await product();
      const t = await bestOf(repeat, product);
      tf.dispose([a, b]);
      return t;
    },
  });
}
for (const n of sizes) {
  const d = 64;
  cases.push({
    name: `NTK kernel build n=${n} d=${d}`,
    kind: 'kernel-build',
    n,
    d,
    run: async () => {
      const x = normal(n, d, 3);
      const { panels, release } = kernelPanels(x, ntkKernel('relu', 'both'));
      const t = await bestOf(1, async () => {
        for (let s = 0; s < n; s += 256) {
          const p = panels(s, Math.min(256, n - s));
          await p.data();
          p.dispose();
        }
      });
      release();
      x.dispose();
      return t;
    },
  });
  cases.push({
    name: `Cholesky + solve n=${n} (NTK + nλI)`,
    kind: 'kernel-solve',
    n,
    d,
    run: () => choleskySolveCase(n, d, {}),
  });
  // on webgpu, the Cholesky's other update beside its default (wide: one product per slab): the same
  // factor from per-panel products, ~(n/256)²/2 of them (numerics' CholeskyUpdate)
  if (backend === 'webgpu')
    cases.push({
      name: `Cholesky + solve n=${n} (NTK + nλI), per-panel updates`,
      kind: null,
      run: () => choleskySolveCase(n, d, { update: 'per-panel' }),
    });
  // a fixed λ (as the Cholesky line beside it), and the learner's default: gcv over its grid of 10 λ (those
  // above the system's float32 floor fitted, docs/learners.md)
  for (const [label, options] of [
    ['λ fixed', { ridge: 1e-3 }],
    ['default gcv over 10 λ', {}],
  ])
    cases.push({
      name: `ntk learner fit n=${n} d=${d} (${label}, all diagnostics)`,
      kind: null,
      run: async () => {
        const x = normal(n, d, 3);
        const y = normal(n, 1, 4);
        const learner = neuralTangentKernel.create(neuralTangentKernel.options.parse(options));
        const t = await bestOf(1, async () => (await learner.fit({ x, y }, context(5))).dispose());
        tf.dispose([x, y]);
        return t;
      },
    });
}
{
  // ridge with a list of 8 λ (1e-6 … 10 by decades, the gcv / loo grid): kernel built, solved and
  // described (df, residual, train risk) for every λ — one eigen-decomposition against a Cholesky per λ
  const n = quick ? 1024 : 4096;
  const d = 64;
  const lambdas = Array.from({ length: 8 }, (_, i) => Number(`1e${i - 6}`));
  for (const ridgeSolver of ['eigen', 'cholesky']) {
    cases.push({
      name: `ntk ridge, 8 λ, n=${n} d=${d}: ${ridgeSolver === 'eigen' ? 'one eigen-decomposition' : 'Cholesky per λ'}`,
      kind: `ridge-${ridgeSolver}`,
      n,
      d,
      lambdas,
      // native without OpenBLAS and wasm have no eigen solver for n above the host's limit
      unavailable:
        ridgeSolver === 'eigen' && !symmetricEigenSolver(n)
          ? `no eigen solver for ${n}×${n} on this backend`
          : undefined,
      run: async () => {
        const x = normal(n, d, 3);
        const y = normal(n, 1, 4);
        const t = await bestOf(1, async () => {
          const system = await dualSystem(x, y, ntkKernel('relu', 'both'));
          const fits = await fitRidge(
            system,
            { ridge: lambdas, ridgeGrid: lambdas, ridgeSolver },
            new AbortController().signal,
          );
          if (fits.some((f) => f.diagnostics.eigen !== (ridgeSolver === 'eigen' ? 1 : 0)))
            throw new Error(`the ${ridgeSolver} path did not serve every λ`);
          system.release();
          for (const f of fits) disposeFit(f);
        });
        tf.dispose([x, y]);
        return t;
      },
    });
  }
}
{
  const [n, d, width] = quick ? [2048, 64, 1024] : [8192, 64, 4096];
  // the learner's default (λ by gcv over its 10 grid values, all diagnostics) against numpy doing
  // the same gcv (one eigh of the N×N Gram, every λ from it), and one fixed λ against one Cholesky
  for (const [label, options, kind] of [
    ['', {}, 'rf-fit-gcv'],
    [' (λ fixed)', { ridge: 1e-3 }, 'rf-fit'],
  ])
    cases.push({
      name: `RF fit N=${width} n=${n} d=${d}${label}`,
      kind,
      lambdas: Array.from({ length: 10 }, (_, i) => Number(`1e${i - 8}`)),
      n,
      d,
      width,
      run: async () => {
        const x = normal(n, d, 6);
        const y = normal(n, 1, 7);
        const learner = randomFeatures.create(randomFeatures.options.parse({ width, ...options }));
        const t = await bestOf(1, async () => (await learner.fit({ x, y }, context(8))).dispose());
        tf.dispose([x, y]);
        return t;
      },
    });
}

{
  // one full-batch step of a two-layer relu net: forward, hand-written backward, SGD update
  const [n, d, width] = quick ? [1024, 128, 256] : [4096, 256, 1024];
  cases.push({
    name: `two-layer training step n=${n} d=${d} width=${width}`,
    kind: 'train-step',
    n,
    d,
    width,
    repeat: 5,
    run: async () => {
      const training = twoLayerTraining(n, d, width);
      training.step();
      await training.params.w.data();
      const t = await bestOf(5, async () => {
        training.step();
        await training.params.a.data();
      });
      training.dispose();
      return t;
    },
  });
}

cases.push(...deepKernelCases({ quick, backend }));

{
  // issue 17's fresh-machine case: one RF ridge cell through `regimes run`, a process of its own on
  // this backend (its start-up, the data, the fit and the test risk), against rf_ridge_e2e.py, the
  // same work as a numpy script in its own process; the kernels the child ran are not counted
  const [n, d, width, testN] = quick ? [2048, 64, 1024, 2048] : [8192, 64, 4096, 8192];
  for (const [mode, label, ridge] of [
    ['gcv', 'λ by gcv', ''],
    ['fixed', 'λ fixed', ', ridge: 1.0e-3'],
  ])
    cases.push({
      name: `RF ridge end to end, regimes run: N=${width} n=${n} d=${d} test ${testN} (${label})`,
      kind: 'rf-e2e',
      mode,
      n,
      d,
      width,
      testN,
      run: async () => {
        const work = mkdtempSync(join(tmpdir(), 'regimes-bench-e2e-'));
        try {
          writeFileSync(
            join(work, 'spec.yaml'),
            `name: bench-rf-e2e
target: { kind: hermite, d: ${d}, degree: 2 }
learners:
  - { kind: rf, width: ${width}, activation: relu, bias: 0.5${ridge} }
sweep: { n: [${n}] }
test: { n: ${testN} }
`,
          );
          return timedRegimes(['run', join(work, 'spec.yaml'), '-b', backend, '-o', join(work, 'out'), '-q'])
            .seconds;
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      },
    });
}

if (only)
  cases.splice(
    0,
    cases.length,
    ...cases.filter((c) => only.split('|').some((part) => c.name.includes(part))),
  );
const ours = {};
const cold = {};
const dispatched = {};
const python = numpyServer();
const theirs = {};
const theirsCold = {};
// a case that throws (a backend's limit, a missing kernel) is reported and the others still run;
// the bench then exits with status 1
const failures = {};
for (const c of cases) {
  process.stderr.write(`${c.name} ... `);
  if (c.unavailable) {
    ours[c.name] = null;
    process.stderr.write(`skipped: ${c.unavailable}\n`);
    continue;
  }
  // a scope per case: what a case that throws had made is freed with it
  tf.engine().startScope();
  try {
    if (!c.once) cold[c.name] = await c.run();
    counts.kernels = counts.reads = 0;
    const second = await c.run();
    // the better of the two runs, as numpy's below: a page-reclaim pause or a collection in one run
    // moved a 10-ms case 10× (Cholesky + solve at 1024: 0.012 and 0.162 s in two bench runs)
    ours[c.name] = Math.min(second, cold[c.name] ?? Infinity);
    dispatched[c.name] = { ...counts };
    process.stderr.write(
      `${seconds(ours[c.name])} s${c.once ? '' : ` (cold ${seconds(cold[c.name])} s)`}, ${counts.kernels} kernels, ${counts.reads} reads\n`,
    );
  } catch (error) {
    ours[c.name] = null;
    failures[c.name] = error instanceof Error ? error.message : String(error);
    process.stderr.write(`failed: ${failures[c.name].split('\n')[0]}\n`);
  } finally {
    tf.engine().endScope();
  }
  if (c.kind) {
    // numpy's side of the case, right after ours, with no run() and nothing else in the request
    const { run: _run, ...request } = c;
    const answer = await python.ask(request);
    if (answer?.warm != null) {
      theirs[c.name] = Math.min(answer.warm, answer.cold ?? Infinity);
      if (!c.once) theirsCold[c.name] = answer.cold;
      process.stderr.write(
        `  numpy: ${seconds(answer.warm)} s${c.once ? '' : ` (cold ${seconds(answer.cold)} s)`}\n`,
      );
    } else if (answer?.error) process.stderr.write(`  numpy failed: ${answer.error}\n`);
    else if (answer === null && (await python.header))
      process.stderr.write(`  numpy's process ended: ${python.stderr().split('\n').slice(-3).join(' ')}\n`);
    // numpy's OpenBLAS keeps its threads spinning ~0.1 s after a call (its default
    // OPENBLAS_THREAD_TIMEOUT; ours is set lower when native loads): let them sleep before our next case
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
process.stderr.write(`tensors left after the cases: ${tf.memory().numTensors}\n`);
python.close();

const numpy = { blas: 'numpy not found', numpy: null, ...(await python.header), results: theirs };
if (!(await python.header))
  process.stderr.write(`numpy side skipped: ${python.stderr().split('\n').slice(-3).join(' ')}\n`);

const rows = cases.map((c) => {
  const mine = ours[c.name];
  const their = numpy.results[c.name];
  return {
    case: c.name,
    regimes_s: mine,
    ...(failures[c.name] ? { error: failures[c.name] } : {}),
    ...(cold[c.name] !== undefined ? { cold_s: cold[c.name] } : {}),
    ...(theirsCold[c.name] !== undefined ? { numpy_cold_s: theirsCold[c.name] } : {}),
    ...dispatched[c.name],
    ...(c.flops && mine ? { regimes_gflops: c.flops / mine / 1e9 } : {}),
    numpy_s: their ?? null,
    // fraction of numpy's speed: 1 = as fast as numpy, 0.5 = twice as slow
    speed_vs_numpy: their && mine ? their / mine : null,
  };
});
// Sweep throughput: the same sweep through the `regimes` command with --jobs 1 and --jobs 2
// (the command runs cells itself beside one worker process), per CPU backend; wall time includes
// each process's start-up. Three sweeps: `mixed` (n 512–4096, where a --jobs 1 run's own BLAS
// threads already use the cores for the larger kernels), `small cells` (72 cells, n 128–512: each
// cell alone cannot use a second core) and the same 4× longer (below). The CPU seconds of the
// command and its workers (Linux: the children's times in /proc/self/stat) say what the parallel
// run costs beyond the serial one,
// whatever else loads the machine; the worker's own report (REGIMES_DEBUG) gives its start-up
// (seconds from its fork to ready, and CPU seconds) and how many cells each process ran.
// A third run per repetition is the machine's own reference for process parallelism: the two halves
// of the sweep (`--shard 1/2`, `--shard 2/2`, each --jobs 1 with the BLAS threads --jobs 2 gives a
// process) as two commands started together, with no pool and no messages between them; the
// wall time until both end. --jobs 2 beats it only by what the pool does better than two commands
// (its worker starts while the command loads).
function childCpuSeconds() {
  try {
    // fields after the command name: cutime and cstime are the 14th and 15th, in clock ticks
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
    return (Number(fields[13]) + Number(fields[14])) / ticks;
  } catch {
    return Number.NaN; // not Linux: no CPU figure
  }
}

/**
 * What the debug lines say: the workers' start-up (mean), when the command's own first cell began,
 * and the cells each process ran.
 */
function poolReport(stderr) {
  const workers = [
    ...stderr.matchAll(/debug: worker \d+: ready after ([\d.]+) s \(([\d.]+) CPU s\); (\d+) cell/g),
  ];
  const own = /debug: this process: first cell after ([\d.]+) s \(([\d.]+) CPU s\); (\d+) cell/.exec(stderr);
  const mean = (i) =>
    workers.length ? workers.reduce((a, m) => a + Number(m[i]), 0) / workers.length : null;
  return {
    startup_s: mean(1),
    startup_cpu_s: mean(2),
    worker_cells: workers.reduce((a, m) => a + Number(m[3]), 0),
    command_first_cell_s: own ? Number(own[1]) : null,
    command_cells: own ? Number(own[3]) : null,
  };
}

/** A sweep runs with no --only, or when one of --only's parts is in its name (`--only small`). */
function sweepSelected(name) {
  return !only || only.split('|').some((part) => name.includes(part));
}

/**
 * Commands started together (each `{ args, env, label, pin }`: the arguments after node, the
 * environment it adds, its name in an error, the core it is pinned to if any): the seconds each
 * took, from the common start to its own end.
 */
async function atOnce(commands) {
  const t0 = performance.now();
  return Promise.all(
    commands.map(
      ({ args, env, label, pin }) =>
        new Promise((resolve, reject) => {
          const [file, argv] =
            pin === undefined
              ? [process.execPath, args]
              : ['taskset', ['-c', String(pin), process.execPath, ...args]];
          const child = spawn(file, argv, {
            env: { ...process.env, ...env },
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (chunk) => (stderr += chunk));
          child.on('error', reject);
          child.on('close', (code) =>
            code === 0
              ? resolve((performance.now() - t0) / 1000)
              : reject(new Error(`bench ${label} failed: ${stderr}`)),
          );
        }),
    ),
  );
}

/** The arguments after node of one --jobs 1 command running a shard of the sweep. */
function shardArgs(cliBin, specFile, out, b, shard) {
  return [cliBin, 'run', specFile, '-o', out, '-q', '--backend', b, '--jobs', '1', '--shard', shard];
}

/** Both halves of the sweep as two --jobs 1 commands at once: wall seconds until both end. */
async function shardsAtOnce(cliBin, specFile, out, b) {
  const threads = String(Math.max(1, Math.floor(cpus().length / 2)));
  const seconds = await atOnce(
    [1, 2].map((i) => ({
      args: shardArgs(cliBin, specFile, out, b, `${i}/2`),
      env: { OPENBLAS_NUM_THREADS: threads },
      label: `shard ${i}/2`,
    })),
  );
  return Math.max(...seconds);
}

/** Whether processes can be pinned to a core here (Linux's taskset, util-linux) and two cores exist. */
const canPin =
  cpus().length >= 2 && spawnSync('taskset', ['-c', '0', process.execPath, '-e', '0']).status === 0;

/**
 * The speed of each of the first two cores under the load --jobs 2 puts on them: the sweep's first
 * half (`--shard 1/2`, --jobs 1, one BLAS thread) twice at once, one command pinned to core 0 and
 * one to core 1. The same work on each, so the two times differ only by the cores. A VM's vCPUs need
 * not run at one speed, and on the 2-core VM of 2026-12-06 they did not: the 72 small cells, one
 * command pinned to each core at once, took 4.6–4.9 s on core 0 and 6.3–6.6 s on core 1, and 20
 * minutes later the 288 cells, alone on each, 16.8 s on core 0 and 13.2 s on core 1; an arithmetic
 * loop ran within 6% on both, a loop that allocates 1.7× slower on the slower one. With cores of
 * speeds 1 and s ≤ 1, --jobs 2 can give at most 1 + s times a --jobs 1 run on the faster core (less
 * each process's start-up): the bound in the table, 1 + fast time / slow time. Run only where
 * processes can be pinned (`canPin`).
 */
async function halfPerCore(cliBin, specFile, out, b) {
  return atOnce(
    [0, 1].map((core) => ({
      args: shardArgs(cliBin, specFile, `${out}-${core}`, b, '1/2'),
      env: { OPENBLAS_NUM_THREADS: '1' },
      label: `half on core ${core}`,
      pin: core,
    })),
  );
}

async function sweepThroughput(name, cells, spec) {
  const work = mkdtempSync(join(tmpdir(), 'regimes-bench-'));
  writeFileSync(join(work, 'sweep.yaml'), spec);
  const results = [];
  for (const b of [...new Set([backend, 'wasm'])]) {
    /**
     * Per repetition, the --jobs 1 and --jobs 2 runs, one after the other, in alternating order
     * (1 then 2, 2 then 1, ...): the VM's speed drifts over a minute, and a drift that favours the
     * second run of a pair then favours each side equally often.
     */
    const pairs = [];
    for (let rep = 1; rep <= sweepReps; rep++) {
      const pair = {};
      for (const jobs of rep % 2 ? [1, 2] : [2, 1]) {
        process.stderr.write(
          `sweep (${name}) of ${cells} cells on ${b} with --jobs ${jobs} (${rep}/${sweepReps}) ... `,
        );
        const out = join(work, `${b}-${jobs}`);
        rmSync(out, { recursive: true, force: true }); // a full run each time, not a resume
        const cpu0 = childCpuSeconds();
        const { seconds, stderr } = timedRegimes(
          ['run', join(work, 'sweep.yaml'), '-o', out, '-q', '--backend', b, '--jobs', String(jobs)],
          { ...process.env, REGIMES_DEBUG: '1' },
        );
        pair[jobs] = { seconds, cpu: childCpuSeconds() - cpu0, ...poolReport(stderr) };
        process.stderr.write(`${seconds.toFixed(1)} s (${pair[jobs].cpu.toFixed(1)} CPU s)\n`);
      }
      process.stderr.write(
        `sweep (${name}) on ${b}, its two --shard halves at once (${rep}/${sweepReps}) ... `,
      );
      const out = join(work, `${b}-shards`);
      rmSync(out, { recursive: true, force: true });
      const cpu0 = childCpuSeconds();
      pair.shards = await shardsAtOnce(cliBin, join(work, 'sweep.yaml'), out, b);
      process.stderr.write(`${pair.shards.toFixed(1)} s (${(childCpuSeconds() - cpu0).toFixed(1)} CPU s)\n`);
      if (canPin) {
        process.stderr.write(
          `sweep (${name}) on ${b}, its first half on core 0 and on core 1 at once (${rep}/${sweepReps}) ... `,
        );
        rmSync(`${out}-0`, { recursive: true, force: true });
        rmSync(`${out}-1`, { recursive: true, force: true });
        pair.cores = await halfPerCore(cliBin, join(work, 'sweep.yaml'), out, b);
        process.stderr.write(`${pair.cores.map((t) => t.toFixed(1)).join(' / ')} s\n`);
      }
      pairs.push(pair);
    }
    // the pair whose ratio is the median one (the lower middle for an even count)
    const ratio = (p) => p[1].seconds / p[2].seconds;
    const sorted = [...pairs].sort((x, y) => ratio(x) - ratio(y));
    const per = sorted[Math.floor((sorted.length - 1) / 2)];
    results.push({
      sweep: name,
      backend: b,
      cells,
      jobs1_s: per[1].seconds,
      jobs2_s: per[2].seconds,
      jobs1_cpu_s: per[1].cpu,
      jobs2_cpu_s: per[2].cpu,
      jobs1_cells_per_min: (60 * cells) / per[1].seconds,
      jobs2_cells_per_min: (60 * cells) / per[2].seconds,
      speedup: ratio(per),
      speedup_min: ratio(sorted[0]),
      speedup_max: ratio(sorted[sorted.length - 1]),
      reps: pairs.length,
      // the same repetition's two --shard halves at once: the machine's reference for --jobs 2
      shards_s: per.shards,
      shards_speedup: per[1].seconds / per.shards,
      // the same repetition's first half on core 0 and on core 1 at once, and the bound it sets
      cores_s: per.cores ?? null,
      cores_bound: per.cores ? 1 + Math.min(...per.cores) / Math.max(...per.cores) : null,
      // the command's start-up (node, modules, spec, plan, backend: to its first cell) and the
      // speed-up of the rest, the part the workers share (wall time after the command's first cell)
      jobs1_first_cell_s: per[1].command_first_cell_s,
      jobs2_first_cell_s: per[2].command_first_cell_s,
      cells_speedup:
        per[1].command_first_cell_s != null && per[2].command_first_cell_s != null
          ? (per[1].seconds - per[1].command_first_cell_s) / (per[2].seconds - per[2].command_first_cell_s)
          : null,
      // --jobs 2: the worker's start-up (from its fork, which the command does before loading its
      // own modules), and the cells each process ran
      jobs2_worker_startup_s: per[2].startup_s,
      jobs2_worker_startup_cpu_s: per[2].startup_cpu_s,
      jobs2_worker_cells: per[2].worker_cells,
      jobs2_command_cells: per[2].command_cells,
    });
  }
  rmSync(work, { recursive: true, force: true });
  return results;
}

const sweeps = [];
if (!noSweep && sweepSelected('sweep mixed')) {
  const cells = quick ? 8 : 16;
  sweeps.push(
    ...(await sweepThroughput(
      'mixed: nn + ntk, n 512–4096',
      cells,
      `name: bench-sweep
target: { kind: hermite, d: 16, degree: 2 }
learners:
  - { kind: nn, width: 256, steps: ${quick ? 100 : 300}, lr: 0.5 }
  - { kind: ntk, ridge: 1.0e-3 }
sweep: { n: [512, 1024, 2048, 4096], seed: { range: [0, ${cells / 4}] } }
test: { n: 2048 }
`,
    )),
  );
}
// The small cells twice: 72 cells (~6 s at --jobs 1 on native, where each process's fixed cost,
// its start-up and the first cells' JIT compilation, is a large part) and the same sweep 4× longer
// (288 cells: the same cells, more seeds), where that fixed cost is spread over 4× the cells.
for (const [label, perN] of [
  ['small cells: nn + ntk, n 128–512', quick ? 8 : 24],
  ['long, small cells: nn + ntk, n 128–512', quick ? 32 : 96],
]) {
  if (noSweep || !sweepSelected(`sweep ${label}`)) continue;
  sweeps.push(
    ...(await sweepThroughput(
      label,
      3 * perN,
      `name: bench-sweep-small
target: { kind: hermite, d: 16, degree: 2 }
learners:
  - { kind: nn, width: 128, steps: ${quick ? 100 : 200}, lr: 0.5 }
  - { kind: ntk, ridge: 1.0e-3 }
sweep: { n: [128, 256, 512], seed: { range: [0, ${perN}] } }
test: { n: 1024 }
`,
    )),
  );
}

// the kernel's transparent huge pages: `native` advises its heap onto them (numpy its arrays of 4 MiB and more)
const pages = `transparent huge pages: ${hugePageMode()}${process.env.REGIMES_HUGE_PAGES === '0' ? ', heap not advised (REGIMES_HUGE_PAGES=0)' : ''}`;
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${pages}`;
const header = `regimes bench — ${new Date().toISOString().slice(0, 10)} — backend ${backend} — ${machine} — numpy ${numpy.numpy ?? '-'} (${numpy.blas})`;
const table = [
  '| case | regimes (s) | numpy float32 (s) | speed vs numpy |',
  '|---|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.case} | ${r.error ? 'failed' : r.regimes_s != null ? seconds(r.regimes_s) : '—'}${r.regimes_gflops ? ` (${r.regimes_gflops.toFixed(1)} GFLOP/s)` : ''}${r.cold_s !== undefined && !r.error ? `, cold ${seconds(r.cold_s)}` : ''} | ${r.numpy_s != null ? seconds(r.numpy_s) : '—'} | ${r.speed_vs_numpy ? `${r.speed_vs_numpy.toFixed(2)}×` : '—'} |`,
  ),
].join('\n');
const sweepTable = [
  '| sweep | --jobs 1: cells/min (s, CPU s) | --jobs 2: cells/min (s, CPU s) | speed-up (range over pairs) | two --shard halves at once: speed-up | first half on core 0 / core 1 at once, s (bound) | command to its first cell, s: -j 1 / -j 2 | speed-up after it | --jobs 2: worker start-up s (CPU s); cells command + worker |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...sweeps.map(
    (w) =>
      `| ${w.cells} cells (${w.sweep}), backend ${w.backend} | ${w.jobs1_cells_per_min.toFixed(1)} (${w.jobs1_s.toFixed(1)} s, ${w.jobs1_cpu_s.toFixed(1)}) | ${w.jobs2_cells_per_min.toFixed(1)} (${w.jobs2_s.toFixed(1)} s, ${w.jobs2_cpu_s.toFixed(1)}) | ${w.speedup.toFixed(2)}×${w.reps > 1 ? ` (${w.speedup_min.toFixed(2)}–${w.speedup_max.toFixed(2)})` : ''} | ${w.shards_speedup.toFixed(2)}× (${w.shards_s.toFixed(1)} s) | ${w.cores_s ? `${w.cores_s.map((t) => t.toFixed(1)).join(' / ')} (${w.cores_bound.toFixed(2)}×)` : '—'} | ${w.jobs1_first_cell_s?.toFixed(2) ?? '—'} / ${w.jobs2_first_cell_s?.toFixed(2) ?? '—'} | ${w.cells_speedup ? `${w.cells_speedup.toFixed(2)}×` : '—'} | ${w.jobs2_worker_startup_s?.toFixed(2) ?? '—'} (${w.jobs2_worker_startup_cpu_s?.toFixed(2) ?? '—'}); ${w.jobs2_command_cells ?? 0} + ${w.jobs2_worker_cells} |`,
  ),
].join('\n');
// no sweep run (--no-sweep, or --only naming none): no sweep table, not an empty one
process.stdout.write(`${header}\n\n${table}\n${sweeps.length ? `\n${sweepTable}\n` : ''}`);
mkdirSync(join(here, '..', 'bench-results'), { recursive: true });
writeFileSync(
  join(here, '..', 'bench-results', 'bench.json'),
  `${JSON.stringify({ date: new Date().toISOString(), backend, machine, numpy, rows, sweeps }, null, 2)}\n`,
);
if (Object.keys(failures).length) {
  process.stderr.write(
    `${Object.keys(failures).length} case(s) failed: ${Object.keys(failures).join('; ')}\n`,
  );
  process.exitCode = 1;
}
