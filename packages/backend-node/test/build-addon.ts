/** The addon's build script run from tests: into a scratch path, with extra environment. */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'build-native.mjs');

/** Whether a C compiler is on the PATH (else the builds are skipped). */
export const compiler = ['cc', 'gcc', 'clang'].some(
  (cc) => spawnSync(cc, ['--version'], { stdio: 'ignore' }).status === 0,
);

/** Run scripts/build-native.mjs writing the addon to `out`: its exit status and everything it printed. */
export function buildAddon(
  env: Record<string, string>,
  out: string,
): { status: number | null; text: string } {
  const result = spawnSync(process.execPath, [script], {
    env: { ...process.env, REGIMES_NATIVE_OUT: out, ...env },
    encoding: 'utf8',
  });
  return { status: result.status, text: result.stdout + result.stderr };
}
