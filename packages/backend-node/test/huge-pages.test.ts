import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBlas } from '../src/blas.js';
import {
  adviceFailure,
  adviseWasmHeap,
  hostArray,
  hugePageMode,
  hugePageStatus,
  hugePagesWanted,
} from '../src/huge-pages.js';
import { native } from '../src/native.js';

const { blas } = loadBlas();
const advise = blas?.adviseHugePages?.bind(blas);

/** The mappings of this process whose VmFlags carry `hg` (MADV_HUGEPAGE), as the kernel reports them: [size in bytes]. */
function advisedMappings(): number[] {
  const sizes: number[] = [];
  let size = 0;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const kb = /^Size:\s+(\d+) kB/.exec(line);
    if (kb) size = Number(kb[1]) * 1024;
    if (line.startsWith('VmFlags:') && line.split(/\s+/).includes('hg')) sizes.push(size);
  }
  return sizes;
}

/** Runs `body` with REGIMES_HUGE_PAGES=0, then restores the variable. */
function withoutHugePages(body: () => void): void {
  const saved = process.env.REGIMES_HUGE_PAGES;
  process.env.REGIMES_HUGE_PAGES = '0';
  try {
    body();
  } finally {
    if (saved === undefined) delete process.env.REGIMES_HUGE_PAGES;
    else process.env.REGIMES_HUGE_PAGES = saved;
  }
}

const smaps = (() => {
  try {
    readFileSync('/proc/self/smaps', 'utf8');
    return true;
  } catch {
    return false;
  }
})();
// the addon's advice runs where Linux has transparent huge pages (madvise fails with EINVAL without them)
const canAdvise = advise !== undefined && smaps && hugePageMode() !== 'none';

describe('huge pages: the settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'regimes-thp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const mode = (text: string) => {
    const file = join(dir, 'enabled');
    writeFileSync(file, text);
    return hugePageMode(file);
  };

  it("reads the kernel's mode, the bracketed word, and none where the file is absent or says nothing known", () => {
    expect(mode('always [madvise] never\n')).toBe('madvise');
    expect(mode('[always] madvise never\n')).toBe('always');
    expect(mode('always madvise [never]\n')).toBe('never');
    expect(mode('always madvise never\n')).toBe('none');
    expect(hugePageMode(join(dir, 'absent'))).toBe('none');
  });

  it('REGIMES_HUGE_PAGES: unset, empty or 1 asks for them, 0 not', () => {
    expect(hugePagesWanted({})).toBe(true);
    expect(hugePagesWanted({ REGIMES_HUGE_PAGES: '' })).toBe(true);
    expect(hugePagesWanted({ REGIMES_HUGE_PAGES: '1' })).toBe(true);
    expect(hugePagesWanted({ REGIMES_HUGE_PAGES: '0' })).toBe(false);
  });

  // bad-input: 6
  it.for(['yes', 'true', '2'])('REGIMES_HUGE_PAGES=%s is an error that names 0 and 1', (value) => {
    expect(() => hugePagesWanted({ REGIMES_HUGE_PAGES: value })).toThrow(
      new RegExp(`REGIMES_HUGE_PAGES is '${value}': set it to 1 .* or 0 .*, or unset it`),
    );
  });

  it("a failed advice's warning says why, and how to silence it", () => {
    const { ENOENT, ENOSYS, EINVAL, ENOMEM } = constants.errno;
    expect(adviceFailure(ENOENT)).toMatch(/no anonymous mapping in \/proc\/self\/maps holds it/);
    expect(adviceFailure(ENOSYS)).toMatch(/no MADV_HUGEPAGE/);
    expect(adviceFailure(EINVAL)).toMatch(/\(EINVAL: a kernel without transparent huge pages\)/);
    expect(adviceFailure(ENOMEM)).toMatch(new RegExp(`failed with errno ${ENOMEM};`));
    for (const errno of [ENOENT, ENOSYS, EINVAL, ENOMEM])
      expect(adviceFailure(errno)).toMatch(/REGIMES_HUGE_PAGES=0 silences this$/);
  });

  it('the device line says what the heap gets, and never throws', () => {
    const able = { adviseHugePages: () => 0 };
    expect(hugePageStatus(able, 'madvise', {})).toBe('heap on transparent huge pages (advised)');
    expect(hugePageStatus(able, 'always', {})).toMatch(/every mapping/);
    expect(hugePageStatus(able, 'never', {})).toMatch(/off in the kernel/);
    expect(hugePageStatus(able, 'none', {})).toBe('no transparent huge pages here');
    expect(hugePageStatus(able, 'madvise', { REGIMES_HUGE_PAGES: '0' })).toMatch(
      /default pages \(REGIMES_HUGE_PAGES=0; transparent huge pages: madvise\)/,
    );
    expect(hugePageStatus(able, 'madvise', { REGIMES_HUGE_PAGES: 'yes' })).toMatch(/neither 0 nor 1/);
    expect(hugePageStatus({}, 'madvise', {})).toMatch(/predates adviseHugePages: npm run build:native/);
  });
});

describe.runIf(canAdvise)('huge pages: the addon', () => {
  it("advises a WebAssembly memory's reservation, past the pages in use and up to the bytes asked", () => {
    const before = advisedMappings().length;
    const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536 });
    // the first 1 MiB only: the kernel splits the mapping there, so one mapping of exactly that size carries the flag
    expect(advise!(memory.buffer, 2 ** 20)).toBe(2 ** 20);
    const after = advisedMappings();
    expect(after.length).toBe(before + 1);
    expect(after).toContain(2 ** 20);
    // the whole 4 GiB, most of it not accessible yet: the reservation holds it (V8 maps it at once)
    const whole = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    expect(advise!(whole.buffer, 2 ** 32)).toBe(2 ** 32);
    // as the memory grows, the new pages are in the advised range: V8 makes them accessible, which
    // splits the reservation in two mappings, both flagged (the accessible pages and the rest of the 4 GiB)
    whole.grow(64);
    new Uint8Array(whole.buffer).fill(1);
    const used = whole.buffer.byteLength;
    expect(used).toBe(65 * 65536);
    expect(advisedMappings()).toEqual(expect.arrayContaining([used, 2 ** 32 - used]));
  });

  it('advises no more than a plain buffer, and says why where it cannot', () => {
    const buffer = new ArrayBuffer(8 * 2 ** 20);
    const advised = advise!(buffer, buffer.byteLength);
    expect(advised).toBeGreaterThan(buffer.byteLength - 2 * 4096);
    expect(advised).toBeLessThanOrEqual(buffer.byteLength);
    expect(advise!(new ArrayBuffer(0), 4096)).toBe(-constants.errno.ENOENT); // no mapping holds an empty buffer
    expect(() => (advise as unknown as (a: unknown, b: unknown) => number)(new Float32Array(4), 16)).toThrow(
      /an ArrayBuffer and a byte count/,
    );
  });

  it('a host array for a matrix is zeroed and advised, its own whole pages only; not with REGIMES_HUGE_PAGES=0', () => {
    const mode = hugePageMode();
    if (mode === 'never') return;
    /** The flagged mappings within a page of an array's own: its whole pages. */
    const flaggedNear = (bytes: number) =>
      advisedMappings().filter((size) => size <= bytes && size > bytes - 8192);
    const advised = hostArray(blas!, 2 ** 22, mode);
    expect(advised.length).toBe(2 ** 22);
    expect(advised.every((x) => x === 0)).toBe(true);
    expect(flaggedNear(2 ** 24)).toHaveLength(1);
    withoutHugePages(() => {
      const plain = hostArray(blas!, 3 * 2 ** 21, mode);
      expect(plain.length).toBe(3 * 2 ** 21);
      expect(flaggedNear(3 * 2 ** 23)).toHaveLength(0);
    });
  });

  it("native's activation advises its heap: all 4 GiB the heap can grow to", async () => {
    const mode = hugePageMode();
    if (mode === 'never') return; // nothing is asked where the kernel has them off
    await native.create({}).activate();
    expect(tf.getBackend()).toBe('wasm');
    // the kernel's view: the heap's accessible pages and the rest of its 4 GiB, each a mapping flagged hg
    const heap = (tf.findBackend('wasm') as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer;
    expect(advisedMappings()).toEqual(expect.arrayContaining([heap.byteLength, 2 ** 32 - heap.byteLength]));
    expect(adviseWasmHeap(blas!, mode)).toBe(2 ** 32); // again: the same range
    withoutHugePages(() => expect(adviseWasmHeap(blas!, mode)).toBeUndefined());
  });
});
