// The browser build's stand-in for Node-only modules (node:fs, node:path, node:worker_threads...):
// the engine parts that touch files or processes are never called in the page (runExperiment runs
// without `out`, `jobs` or `workers`); if one is, it says so instead of failing obscurely.
const unavailable = (name) => () => {
  throw new Error(
    `${name} is not available in the browser build of regimes; run this spec with the regimes command`,
  );
};
const handler = {
  get: (_t, key) => (key === '__esModule' ? false : unavailable(`node builtin .${String(key)}`)),
};
const stub = new Proxy({}, handler);
export default stub;
export const existsSync = () => false;
export const readFileSync = unavailable('readFileSync');
export const writeFileSync = unavailable('writeFileSync');
export const appendFileSync = unavailable('appendFileSync');
export const mkdirSync = unavailable('mkdirSync');
export const readdirSync = unavailable('readdirSync');
export const statSync = unavailable('statSync');
export const renameSync = unavailable('renameSync');
export const rmSync = unavailable('rmSync');
export const unlinkSync = unavailable('unlinkSync');
export const openSync = unavailable('openSync');
export const closeSync = unavailable('closeSync');
export const writeSync = unavailable('writeSync');
// node:fs/promises (the results file's fsync)
export const open = unavailable('fs/promises.open');
export const linkSync = unavailable('linkSync');
export const readlinkSync = unavailable('readlinkSync');
export const realpathSync = unavailable('realpathSync');
export const readSync = unavailable('readSync');
export const constants = {};
export const join = (...parts) => parts.filter(Boolean).join('/').replace(/\/+/g, '/');
export const dirname = (p) => p.replace(/\/[^/]*$/, '') || '/';
export const basename = (p, ext) => {
  const b = p.replace(/.*\//, '');
  return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
};
export const extname = (p) => /\.[^./]*$/.exec(p)?.[0] ?? '';
export const resolve = (...parts) => join(...parts);
export const relative = (_from, to) => to;
export const isAbsolute = (p) => p.startsWith('/');
export const sep = '/';
export const pathToFileURL = (p) => new URL(`file://${p}`);
export const fileURLToPath = (u) => String(u).replace(/^file:\/\//, '');
export const Worker = unavailable('worker_threads.Worker');
export const fork = unavailable('child_process.fork');
export const spawn = unavailable('child_process.spawn');
export const spawnSync = unavailable('child_process.spawnSync');
export const execFileSync = unavailable('child_process.execFileSync');
export const isMainThread = true;
export const parentPort = null;
export const workerData = undefined;
export const hostname = () => 'browser';
export const uptime = () => 0;
export const cpus = () => Array.from({ length: globalThis.navigator?.hardwareConcurrency ?? 1 }, () => ({}));
export const platform = () => 'browser';
export const arch = () => 'wasm';
export const release = () => '';
export const type = () => 'browser';
export const EOL = '\n';
// the memory a fit may use in the page: the browser's hint (GiB), else 2 GiB
export const freemem = () => (globalThis.navigator?.deviceMemory ?? 2) * 2 ** 30;
export const totalmem = freemem;
export const tmpdir = () => '/tmp';
export const homedir = () => '/';
export const performance = globalThis.performance;
export const promisify = (f) => f;
export const inspect = (v) => JSON.stringify(v);
// async context (supervise.ts routes a fit's uncaught errors with it): the page has no
// process-wide uncaught handler to route from, so the scope is never read back
export class AsyncLocalStorage {
  run(_store, fn, ...args) {
    return fn(...args);
  }
  getStore() {
    return undefined;
  }
}
export const availableParallelism = () => globalThis.navigator?.hardwareConcurrency ?? 1;
