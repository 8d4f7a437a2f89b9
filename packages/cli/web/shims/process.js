// `process` for the browser build: the engine reads process.env, process.cwd() and listens for
// 'exit'; in the page there is no process, so these are inert (env empty, cwd '/').
export const process = {
  env: {},
  cwd: () => '/',
  on: () => process,
  exit: (code) => {
    throw new Error(`process.exit(${code}) called in the page`);
  },
  listeners: () => [],
  listenerCount: () => 0,
  removeListener: () => process,
  off: () => process,
  once: () => process,
  exitCode: undefined,
  platform: 'browser',
  versions: {},
  hrtime: Object.assign(() => [0, 0], { bigint: () => BigInt(Math.round(performance.now() * 1e6)) }),
  memoryUsage: () => ({ rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 }),
  stderr: { write: (m) => (console.warn(String(m).trimEnd()), true) },
  stdout: { write: (m) => (console.log(String(m).trimEnd()), true) },
  nextTick: (f, ...a) => queueMicrotask(() => f(...a)),
};

// Node's timers return objects with unref()/ref(); the engine unrefs its watchdog timers. In the
// page they are plain browser timers behind the same methods (no process to keep alive).
class Timer {
  constructor(id) {
    this.id = id;
  }
  unref() {
    return this;
  }
  ref() {
    return this;
  }
  hasRef() {
    return true;
  }
  [Symbol.toPrimitive]() {
    return this.id;
  }
}
const unwrap = (t) => (t instanceof Timer ? t.id : t);
const browserSetTimeout = globalThis.setTimeout.bind(globalThis);
const browserSetInterval = globalThis.setInterval.bind(globalThis);
const browserClearTimeout = globalThis.clearTimeout.bind(globalThis);
const browserClearInterval = globalThis.clearInterval.bind(globalThis);
export const setTimeout = (f, ms, ...args) => new Timer(browserSetTimeout(f, ms, ...args));
export const setInterval = (f, ms, ...args) => new Timer(browserSetInterval(f, ms, ...args));
export const clearTimeout = (t) => browserClearTimeout(unwrap(t));
export const clearInterval = (t) => browserClearInterval(unwrap(t));
