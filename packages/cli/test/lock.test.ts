// The results file's lock (core/src/engine/lock.ts): who counts as a live holder, what is taken
// over, the heartbeat that tells a holder on another host from a dead one, and two runs that find
// the same stale lock at once (processes of their own, through the built package: npm test builds).
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir, uptime } from 'node:os';
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
const bin = join(root, 'packages/cli/bin/regimes.js');

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
    // beating: a process that touches the lock every 50 ms, judged over 2.5 beats of 2 s (a beat of
    // 100 ms failed on a loaded machine, 2026-12-07: the beater's node had not started within 250 ms)
    writeFileSync(lockOf(out), JSON.stringify({ ...elsewhere, beat: 2000 }));
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

  it('leaves no file of its own behind when stopped (Ctrl-C) while it waits to judge a holder elsewhere', async () => {
    const dir = tmp();
    const out = join(dir, 'results.jsonl');
    // a holder on another machine that beats every 2 s: judged after 5 s without a touch
    writeFileSync(lockOf(out), JSON.stringify({ pid: 7, host: 'node-7', since: 't0', ns: 'x', beat: 2000 }));
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { lockResults } from ${JSON.stringify(coreDist)}; process.stdout.write('start\\n'); lockResults(${JSON.stringify(out)});`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    await new Promise((r) => child.stdout.once('data', r));
    await wait(500);
    const exit = new Promise((r) => child.once('exit', (_code, signal) => r(signal)));
    child.kill('SIGINT');
    expect(await exit).toBe('SIGINT');
    expect(readdirSync(dir)).toEqual(['results.jsonl.lock']);
  });

  // bad-input: 6
  it('says what to change for a lock it cannot read, and takes over one from before the last boot', () => {
    const out = join(tmp(), 'results.jsonl');
    mkdirSync(lockOf(out));
    expect(() => lockResults(out)).toThrow(`cannot take the lock ${lockOf(out)} of ${out}: it is a folder`);
    rmSync(lockOf(out), { recursive: true });
    // a live pid, no start time to compare, but taken before this machine started: stale
    const live = sleeper();
    try {
      const boot = Date.now() - uptime() * 1000;
      writeFileSync(
        lockOf(out),
        JSON.stringify({ pid: live.pid, host: hostname(), since: new Date(boot - 3600_000).toISOString() }),
      );
      lockResults(out)();
      expect(existsSync(lockOf(out))).toBe(false);
    } finally {
      live.stop();
    }
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
  it('says when a lock held is taken over (a holder paused past its heartbeat) or gone, and then neither touches nor removes it', async () => {
    const out = join(tmp(), 'results.jsonl');
    process.env.REGIMES_LOCK_BEAT_MS = '40';
    try {
      const lock = lockResults(out);
      lock.check(); // its own: passes
      // a run elsewhere that judged this one dead replaces the lock with its own
      const other = JSON.stringify({ pid: 7, host: 'node-7', since: 't1', ns: 'x', beat: 10000 });
      rmSync(lockOf(out));
      writeFileSync(lockOf(out), other);
      const written = statSync(lockOf(out)).mtimeMs;
      expect(() => lock.check()).toThrow(
        `the lock ${lockOf(out)} now holds another regimes run (pid 7 on node-7, since t1): this run no longer holds ${out} and stops before writing to it again; the rows it wrote stand`,
      );
      // the heartbeat (every 40 ms) leaves the other's lock as it was: touched, it would look alive
      await wait(400);
      expect(statSync(lockOf(out)).mtimeMs).toBe(written);
      lock();
      expect(readFileSync(lockOf(out), 'utf8')).toBe(other);
      // removed (by hand, or by a run that took it over and has ended)
      const second = join(tmp(), 'results.jsonl');
      const held = lockResults(second);
      rmSync(lockOf(second));
      expect(() => held.check()).toThrow(
        `the lock ${lockOf(second)} is gone: this run no longer holds ${second} and stops before writing to it again`,
      );
      held();
      expect(existsSync(lockOf(second))).toBe(false);
    } finally {
      delete process.env.REGIMES_LOCK_BEAT_MS;
    }
  });

  // bad-input: 2
  it('a run paused while a run elsewhere takes its lock writes no row after it resumes (--jobs 2)', async () => {
    const dir = tmp();
    const specPath = join(dir, 'spec.yaml');
    // 24 cells of ~0.1 s on cpu, in the command and one worker
    writeFileSync(
      specPath,
      `name: lock-taken
backend: cpu
target: { kind: hermite, d: 4, degree: 2 }
learners:
  - { kind: nn, width: 32, steps: 200 }
sweep: { n: [64], seed: { range: [0, 24] } }
test: { n: 128 }
`,
    );
    const out = join(dir, 'out');
    const file = join(out, 'results.jsonl');
    const child = spawn(process.execPath, [bin, 'run', specPath, '-o', out, '-q', '-j', '2'], {
      env: { ...process.env, REGIMES_BACKEND: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);
    while (lines() < 1) await wait(5);
    // paused (SIGSTOP: its heartbeat stops too), judged dead elsewhere, its lock replaced
    child.kill('SIGSTOP');
    const written = readFileSync(file, 'utf8');
    const other = JSON.stringify({ pid: 7, host: 'node-7', since: 't1', ns: 'x', beat: 10000 });
    writeFileSync(lockOf(file), other);
    child.kill('SIGCONT');
    expect(await exited).toBe(1);
    expect(stderr).toContain(
      `the lock ${lockOf(file)} now holds another regimes run (pid 7 on node-7, since t1): this run no longer holds ${file} and stops before writing to it again; the rows it wrote stand`,
    );
    // the rows written before the pause, and not one after; the other run's lock as it left it
    expect(readFileSync(file, 'utf8')).toBe(written);
    expect(written.split('\n').length - 1).toBeLessThan(24);
    expect(readFileSync(lockOf(file), 'utf8')).toBe(other);
  }, 60_000);

  // bad-input: 2
  it('goes to one of eight processes that find the same stale lock at once (5 rounds)', async () => {
    // each holds what it got until every one has answered (the parent closes their stdin): under
    // load a process descheduled past another's release would otherwise take the lock after it
    const script = `
      import { lockResults } from ${JSON.stringify(coreDist)};
      const at = Number(process.argv[1]);
      while (Date.now() < at) {}
      let release;
      try { release = lockResults(process.argv[2]); process.stdout.write('got'); }
      catch (e) { process.stdout.write(String(e.message).includes('is being written') ? 'refused' : 'error: ' + e.message); }
      process.stdin.on('end', () => { release?.(); process.exit(0); });
      process.stdin.resume();`;
    for (let round = 0; round < 5; round++) {
      const out = join(tmp(), 'results.jsonl');
      writeFileSync(lockOf(out), JSON.stringify({ pid: deadPid(), host: hostname(), since: 't0' }));
      const at = Date.now() + 1500;
      const children = Array.from({ length: 8 }, () =>
        spawn(process.execPath, ['--input-type=module', '-e', script, String(at), out], {
          stdio: ['pipe', 'pipe', 'inherit'],
        }),
      );
      const answers = children.map(
        (child) =>
          new Promise<string>((done) => {
            let text = '';
            child.stdout.on('data', (d: Buffer) => {
              text += d.toString();
              if (/^(got|refused|error: .*)$/.test(text)) done(text);
            });
            child.on('close', () => done(text));
          }),
      );
      const results = await Promise.all(answers);
      const closed = children.map((c) => new Promise((done) => c.on('close', done)));
      for (const c of children) c.stdin.end();
      await Promise.all(closed);
      expect(results.sort()).toEqual(['got', ...Array(7).fill('refused')]);
      expect(existsSync(lockOf(out))).toBe(false);
    }
  }, 60_000);
});
