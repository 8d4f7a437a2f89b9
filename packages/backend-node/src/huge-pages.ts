/**
 * Transparent huge pages for `native`'s WebAssembly heap, where every tensor lives. V8 reserves the
 * heap's whole possible size (4 GiB) when the memory is created and makes it accessible as it grows;
 * the addon's `adviseHugePages` (native/huge-pages.c) marks that reservation MADV_HUGEPAGE once, at
 * activation, so that a kernel whose transparent huge pages are in `madvise` mode (Debian's and
 * Ubuntu's default) backs the heap with 2 MiB pages. numpy advises its arrays of 4 MiB and more the
 * same way (NUMPY_MADVISE_HUGEPAGE), so the bench's two sides now map memory alike.
 *
 * Measured on the 2-core VM (2026-12-06, `native` on OpenBLAS, four interleaved pairs): an RF ridge
 * run through `regimes run` (n = 8192, d = 64, width 4096, test 8192, λ fixed) took 2.76–3.20 s
 * instead of 3.78–4.00 (its fit 1.96–2.39 s against 2.95–3.16; 28 000 page faults against 159 000),
 * and the bench's Cholesky + solve at n = 8192 1.46–1.47 s against 2.12–2.14 (four alternated runs,
 * two with each setting). Small cells do not
 * change (their heap stays small). The numbers computed are the same bits: only the pages differ.
 *
 * `REGIMES_HUGE_PAGES=0` keeps the heap on the kernel's default pages (4 KiB in `madvise` mode).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import tf from '@regimes/numerics/tfjs';
import type { Blas } from './blas.js';
import { WASM_HEAP_BYTES } from './heap.js';

/** The kernel's transparent-huge-page modes (/sys/kernel/mm/transparent_hugepage/enabled), `none` where it has none. */
export type HugePageMode = 'always' | 'madvise' | 'never' | 'none';

const MODE_FILE = '/sys/kernel/mm/transparent_hugepage/enabled';

/** The kernel's mode, the bracketed word of `always [madvise] never`; `none` where there is none (not Linux, or no THP). */
export function hugePageMode(file: string = MODE_FILE): HugePageMode {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 'none';
  }
  return (/\[(always|madvise|never)\]/.exec(text)?.[1] ?? 'none') as HugePageMode;
}

/** Whether REGIMES_HUGE_PAGES asks for them: unset, empty or 1 yes, 0 no; any other value is an error that says what to set. */
export function hugePagesWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.REGIMES_HUGE_PAGES;
  if (value === undefined || value === '' || value === '1') return true;
  if (value === '0') return false;
  throw new Error(
    `REGIMES_HUGE_PAGES is '${value}': set it to 1 (the WebAssembly heap on transparent huge pages, the default) or 0 (the kernel's default pages), or unset it`,
  );
}

/** What the heap gets, in words (the backend's device line); never throws. */
export function hugePageStatus(
  blas: Pick<Blas, 'adviseHugePages'>,
  mode: HugePageMode = hugePageMode(),
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (mode === 'none') return 'no transparent huge pages here';
  let wanted: boolean;
  try {
    wanted = hugePagesWanted(env);
  } catch {
    return `REGIMES_HUGE_PAGES is '${env.REGIMES_HUGE_PAGES}', which is neither 0 nor 1`;
  }
  if (mode === 'never') return "transparent huge pages off in the kernel ('never')";
  if (!wanted)
    return `heap on the kernel's default pages (REGIMES_HUGE_PAGES=0; transparent huge pages: ${mode})`;
  if (mode === 'always') return 'heap on transparent huge pages (the kernel gives them to every mapping)';
  if (!blas.adviseHugePages)
    return "heap on the kernel's default pages (this addon predates adviseHugePages: npm run build:native)";
  return 'heap on transparent huge pages (advised)';
}

/**
 * A zeroed host array of `length` floats (a matrix beyond the WebAssembly heap: kernel ridge above
 * n = 16 384, numerics' HostLapack), advised onto transparent huge pages before its first touch,
 * as the heap is. The advice covers the array's own whole pages only (the addon stops at
 * its end).
 */
export function hostArray(blas: Blas, length: number, mode: HugePageMode = hugePageMode()): Float32Array {
  const array = new Float32Array(length);
  if (adviceAsked(blas, mode)) blas.adviseHugePages(array.buffer, array.byteLength);
  return array;
}

/** Whether memory is to be advised: REGIMES_HUGE_PAGES does not say 0, the kernel has them, the addon can. */
function adviceAsked(blas: Blas, mode: HugePageMode): blas is Blas & Required<Pick<Blas, 'adviseHugePages'>> {
  return hugePagesWanted() && (mode === 'madvise' || mode === 'always') && blas.adviseHugePages !== undefined;
}

/**
 * Advise the active wasm backend's heap onto transparent huge pages (at `native`'s activation),
 * unless REGIMES_HUGE_PAGES=0 or the kernel has none. Returns the bytes advised, a negative errno
 * (the addon's), or undefined when nothing was asked. A failure is a warning: the heap then keeps
 * its default pages.
 */
export function adviseWasmHeap(blas: Blas, mode: HugePageMode = hugePageMode()): number | undefined {
  if (!adviceAsked(blas, mode)) return undefined;
  const module = (tf.findBackend('wasm') as unknown as { wasm?: { HEAPU8?: Uint8Array } } | null)?.wasm;
  const heap = module?.HEAPU8?.buffer;
  if (!(heap instanceof ArrayBuffer)) return undefined;
  const advised = blas.adviseHugePages(heap, WASM_HEAP_BYTES);
  if (advised < 0) process.emitWarning(adviceFailure(-advised), { code: 'REGIMES_HUGE_PAGES' });
  return advised;
}

/** The warning for the addon's negative answer (its errno, this platform's numbers), in words. */
export function adviceFailure(errno: number): string {
  const { ENOENT, ENOSYS, EINVAL } = constants.errno;
  const why =
    errno === ENOENT
      ? 'no anonymous mapping in /proc/self/maps holds it (or that file cannot be read here)'
      : errno === ENOSYS
        ? 'this platform has no MADV_HUGEPAGE'
        : `madvise(MADV_HUGEPAGE) failed with errno ${errno}${errno === EINVAL ? ' (EINVAL: a kernel without transparent huge pages)' : ''}`;
  return `the WebAssembly heap stays on the kernel's default pages: ${why}; REGIMES_HUGE_PAGES=0 silences this`;
}
