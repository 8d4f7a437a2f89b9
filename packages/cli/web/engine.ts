/**
 * The browser build of the engine: core's runExperiment with targets, learners and metrics, on the
 * wasm or webgpu tfjs backend, without files (no `out`) or worker processes. The same code that
 * `regimes run` runs, so a spec and seed give the same rows (on wasm, the same kernels).
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  BackendFactory,
  ContainerModule,
  definePlugin,
  parseSpecText,
  planExperiment,
  Registry,
  type ResultRow,
  Rng,
  runExperiment,
} from '@regimes/core';
// mathjs's parser, which Node loads on first use and a page must be given (numerics' expression.ts)
import '@regimes/numerics/eager-parser';
import learners from '@regimes/learners';
import metrics from '@regimes/metrics';
import targets from '@regimes/targets';
// the two backend kinds alone, not their packages' indexes (those name Node-only backends too)
import { wasm } from '../../backend-node/dist/wasm.js';
import { webgpu } from '../../backend-webgpu/dist/webgpu.js';
import { describePlan } from '../dist/run/dry-run.js';

/** What the page lets a spec use: above either, it is refused with its estimate. */
export const PAGE_LIMITS = { gflop: 20, mib: 512, rows: 200 };

export interface PageEstimate {
  gflop: number;
  mib: number;
  rows: number;
  /** Some learner gives no estimate. */
  unknown: boolean;
  /** `regimes run --dry-run`'s text for the spec. */
  text: string;
}

export interface PageRun {
  backend: 'wasm' | 'webgpu';
  /** Why webgpu was not used, when it was not. */
  fallback?: string;
  adapter?: string;
  estimate: PageEstimate;
  rows: ResultRow[];
  seconds: number;
}

function pageRegistry(): Registry {
  const registry = new Registry();
  for (const plugin of [targets, learners, metrics]) registry.use(plugin, plugin.name);
  registry.use(
    definePlugin({
      name: 'regimes-page-backends',
      version: '0.1.0',
      core: '^0.1.0',
      description: 'the tfjs backends a browser has: webgpu, wasm',
      module: new ContainerModule(({ bind }) => {
        for (const factory of [webgpu, wasm]) bind(BackendFactory).toConstantValue(factory);
      }),
    }),
    'page',
  );
  return registry;
}

/** The work a spec's fits estimate (learners' `estimate`, as `regimes run --dry-run` adds them). */
export function estimateSpec(text: string): PageEstimate {
  const spec = parseSpecText(text, 'page.yaml');
  const registry = pageRegistry();
  const plan = planExperiment(spec, registry, 'page');
  let flops = 0;
  let bytes = 0;
  let rows = 0;
  let unknown = false;
  for (const cell of plan.cells) {
    const factory = registry.get('target', cell.target.kind);
    const dims = factory.dims?.(cell.target.options);
    const t = dims
      ? { d: dims.d, k: dims.k }
      : (() => {
          const built = factory.create(cell.target.options, { rng: Rng.fromSeed(cell.seed) });
          return { d: built.dim, k: built.outputDim };
        })();
    for (const l of cell.learners) {
      rows++;
      const e = registry
        .get('learner', l.kind)
        .estimate?.(l.options, { n: cell.n, d: t.d, k: t.k, testN: spec.test.n });
      if (e) {
        flops += e.flops;
        bytes = Math.max(bytes, e.bytes);
      } else unknown = true;
    }
  }
  return { gflop: flops / 1e9, mib: bytes / 2 ** 20, rows, unknown, text: describePlan(plan, registry) };
}

/** The backend the page runs on: webgpu where the browser gives an adapter, else wasm. */
async function chooseBackend(
  asked: 'auto' | 'wasm' | 'webgpu',
): Promise<{ backend: 'wasm' | 'webgpu'; fallback?: string; adapter?: string }> {
  if (asked === 'wasm') return { backend: 'wasm' };
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } })
    .gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (adapter) {
    const info = adapter.info ?? {};
    const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
    return { backend: 'webgpu', adapter: name || 'WebGPU adapter' };
  }
  const why = gpu ? 'navigator.gpu.requestAdapter() gave no adapter' : 'this browser has no navigator.gpu';
  if (asked === 'webgpu') throw new Error(`webgpu asked for, but ${why}`);
  return { backend: 'wasm', fallback: why };
}

/** Run a spec (YAML or JSON text) in the page; a spec over PAGE_LIMITS is refused with its estimate. */
export async function runInPage(
  text: string,
  options: {
    backend?: 'auto' | 'wasm' | 'webgpu';
    onRow?: (row: ResultRow, done: number, total: number) => void;
    log?: (m: string) => void;
  } = {},
): Promise<PageRun> {
  const estimate = estimateSpec(text);
  const over = [
    estimate.gflop > PAGE_LIMITS.gflop ? `${estimate.gflop.toPrecision(3)} GFLOP > ${PAGE_LIMITS.gflop}` : '',
    estimate.mib > PAGE_LIMITS.mib
      ? `largest fit ${Math.ceil(estimate.mib)} MiB > ${PAGE_LIMITS.mib} MiB`
      : '',
    estimate.rows > PAGE_LIMITS.rows ? `${estimate.rows} rows > ${PAGE_LIMITS.rows}` : '',
  ].filter(Boolean);
  if (over.length)
    throw Object.assign(
      new Error(
        `too large for the browser (${over.join('; ')}): run it with \`regimes run\` instead, or make it smaller (fewer n, seeds or a narrower width)`,
      ),
      { estimate },
    );
  const chosen = await chooseBackend(options.backend ?? 'auto');
  setWasmPaths(new URL('./', import.meta.url).href);
  const log = options.log ?? ((m: string) => console.log(m));
  const started = performance.now();
  const result = await runExperiment(parseSpecText(text, 'page.yaml'), {
    registry: pageRegistry(),
    backend: chosen.backend,
    log: { debug: () => {}, info: log, warn: (m) => log(`warning: ${m}`) },
    ...(options.onRow ? { onRow: (row, done, total) => options.onRow!(row, done, total) } : {}),
  });
  return {
    ...chosen,
    estimate,
    rows: result.rows,
    seconds: (performance.now() - started) / 1000,
  };
}
