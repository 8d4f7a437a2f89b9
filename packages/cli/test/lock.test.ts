// The results file's lock (core/src/engine/lock.ts): who counts as a live holder, what is taken
// over, the heartbeat that tells a holder on another host from a dead one, and two runs that find
// the same stale lock at once (processes of their own, through the built package: npm test builds).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lockResults } from '@regimes/core';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const coreDist = join(root, 'packages/core/dist/index.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'regimes-lock-'));
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const deadPid = () =>
  Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
      .stdout,
  );
/** A process that lives until killed (a holder that is alive), and its pid. */
function sleeper() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return { pid: child.pid!, stop: () => child.kill('SIGKILL') };
}
const lockOf = (out: string) => `${out}.lock`;

describe('the lock of a results file', () => {
  // bad-input: 2
  it('takes over a holder on this machine that is gone: a dead pid, this pid (a container reuses it), a pid started later', () => {
    const out = join(tmp(), 'results.jsonl');
    const live = sleeper();
    try {
      for (const holder of [
        { pid: deadPid(), host: hostname(), since: 't0' },
        { pid: process.pid, host: hostname(), since: 't0' },
        { pid: live.pid, host: hostname(), since: 't0', start: 1 }, // its start is not 1 tick after boot
      ]) {
        writeFileSync(lockOf(out), JSON.stringify(holder));
        const release = lockResults(out);
        expect(JSON.parse(readFileSync(lockOf(out), 'utf8')).pid).toBe(process.pid);
        release();
        expect(existsSync(lockOf(out))).toBe(false);
      }
      // the same live pid without a start time to compare: a live holder
      writeFileSync(lockOf(out), JSON.stringify({ pid: live.pid, host: hostname(), since: 't0' }));
      expect(() => lockResults(out)).toThrow(
        `${out} is being written by another regimes run (pid ${live.pid} on ${hostname()}, since t0)`,
      );
    } finally {
      live.stop();
    }
    // a lock this process holds is not taken again by it
    const dir = tmp();
    const release = lockResults(join(dir, 'r.jsonl'));
    expect(() => lockResults(join(dir, 'r.jsonl'))).toThrow(/is being written by another regimes run/);
    release();
  });

  // bad-input: 2
  it('takes over a holder elsewhere once its heartbeat has stopped for 2.5 beats, and not while it beats', async () => {
    const out = join(tmp(), 'results.jsonl');
    const elsewhere = { pid: 7, host: 'node-7', since: 't0', ns: 'another-boot/pid:[1]', beat: 100 };
    writeFileSync(lockOf(out), JSON.stringify(elsewhere));
    const t0 = Date.now();
    lockResults(out)();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    // beating: a process that touches the lock every 50 ms
    writeFileSync(lockOf(out), JSON.stringify(elsewhere));
    const beater = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs'); setInterval(() => { const t = new Date(); fs.utimesSync(${JSON.stringify(lockOf(out))}, t, t); }, 50);`,
      ],
      { stdio: 'ignore' },
    );
    try {
      await wait(200);
      expect(() => lockResults(out)).toThrow(
        `${out} is being written by another regimes run (pid 7 on node-7, since t0)`,
      );
    } finally {
      beater.kill('SIGKILL');
    }
    // a lock from elsewhere written without a heartbeat (an older regimes): reported, with the fix
    writeFileSync(lockOf(out), JSON.stringify({ pid: 7, host: 'node-7', since: 't0' }));
    expect(() => lockResults(out)).toThrow(/pid 7 on node-7/);
  });

  it('beats while held, from a thread of its own', async () => {
    const out = join(tmp(), 'results.jsonl');
    process.env.REGIMES_LOCK_BEAT_MS = '40';
    try {
      const release = lockResults(out);
      const first = statSync(lockOf(out)).mtimeMs;
      expect(JSON.parse(readFileSync(lockOf(out), 'utf8')).beat).toBe(40);
      await wait(400);
      expect(statSync(lockOf(out)).mtimeMs).toBeGreaterThan(first);
      release();
    } finally {
      delete process.env.REGIMES_LOCK_BEAT_MS;
    }
  });

  // bad-input: 2
  it('goes to one of eight processes that find the same stale lock at once (5 rounds)', async () => {
    const script = `
      import { lockResults } from ${JSON.stringify(coreDist)};
      const at = Number(process.argv[1]);
      while (Date.now() < at) {}
      try { const release = lockResults(process.argv[2]); process.stdout.write('got'); setTimeout(release, 400); }
      catch (e) { process.stdout.write(String(e.message).includes('is being written') ? 'refused' : 'error: ' + e.message); }`;
    for (let round = 0; round < 5; round++) {
      const out = join(tmp(), 'results.jsonl');
      writeFileSync(lockOf(out), JSON.stringify({ pid: deadPid(), host: hostname(), since: 't0' }));
      const at = Date.now() + 1500;
      const results = await Promise.all(
        Array.from(
          { length: 8 },
          () =>
            new Promise<string>((done) => {
              const child = spawn(process.execPath, ['--input-type=module', '-e', script, String(at), out], {
                stdio: ['ignore', 'pipe', 'inherit'],
              });
              let text = '';
              child.stdout.on('data', (d: Buffer) => (text += d.toString()));
              child.on('close', () => done(text));
            }),
        ),
      );
      expect(results.sort()).toEqual(['got', ...Array(7).fill('refused')]);
      expect(existsSync(lockOf(out))).toBe(false);
    }
  }, 60_000);
});
