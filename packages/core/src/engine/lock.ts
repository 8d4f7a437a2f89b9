/**
 * One writer per results file: `regimes run` (and `regimes merge`, for the moment it rewrites the
 * file) holds `<results>.lock` for as long as it writes, so a second run on the same file stops at
 * once with the holder's name instead of computing everything twice. Shards write files of their
 * own, so a sharded sweep still runs in parallel into one folder.
 *
 * The lock is created whole and exclusively (written to a file of its own, then hard-linked to its
 * name, which fails if the name exists: no reader ever sees it half written, also on NFS). It holds
 * the writer's pid, host, start and process namespace, and a thread of the writer touches it every
 * few seconds (its heartbeat) whatever the main thread is computing. A lock is stale, and taken
 * over, when its holder is gone:
 * - on the same machine and process namespace: its pid is gone, or is another process now (its
 *   start time differs: containers reuse pids), or is this process, which does not hold it;
 * - elsewhere (another host, another container), where the pid says nothing: its heartbeat stopped,
 *   watched for 2.5 beats (a retried pod of a cluster job resumes, waiting for that at most);
 * - a lock written by a regimes without the heartbeat, from elsewhere, is reported, not taken.
 * Removing a stale lock is guarded by `<lock>.takeover`, taken exclusively, so that two runs that
 * find the same stale lock do not both take it.
 *
 * A holder elsewhere that is paused (SIGSTOP, a suspended VM or laptop) or stalls for 2.5 beats
 * looks dead, and its lock is taken over while it lives. So the writer looks before each row it
 * appends (`check`, one read of the lock): a run whose lock now holds another's text, or is gone,
 * stops there with what it wrote kept, instead of writing beside the run that took it. Its
 * heartbeat touches the lock only while it holds this run's text (it would otherwise keep a new
 * holder's lock looking alive after that holder died).
 */
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname, uptime } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { RegimesError } from '../contracts/errors.js';
import { makeFolder } from './results.js';

interface Holder {
  pid: number;
  host: string;
  since: string;
  /** What holds it: a run (default) or a merge. */
  what?: string;
  /** Linux: the kernel's boot id and the pid namespace; a pid means something only within them. */
  ns?: string;
  /** Linux: the holder's start time (clock ticks after boot), which a reused pid does not share. */
  start?: number;
  /** Milliseconds between touches of the lock by its holder (absent: a lock without a heartbeat). */
  beat?: number;
}

/** The heartbeat's period (REGIMES_LOCK_BEAT_MS, for tests): a dead holder elsewhere is seen in 2.5 of them. */
function beatMs(): number {
  const v = Number(process.env.REGIMES_LOCK_BEAT_MS);
  return Number.isFinite(v) && v > 0 ? v : 10_000;
}

/** Locks this process holds (resolved paths): its own pid in a lock it does not hold is a reuse. */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function namespace(): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${boot}/${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (after the command in parentheses, which may hold spaces). */
function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const value = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function readLock(path: string): { text: string; mtime: number } | undefined {
  try {
    return { text: readFileSync(path, 'utf8'), mtime: statSync(path).mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? (h as Holder) : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

type Verdict = 'live' | 'stale' | 'changed';

/** Whether the holder of the lock read as `seen` is alive; 'changed' when the lock changed meanwhile. */
function judge(path: string, seen: { text: string; mtime: number }, me: Holder): Verdict {
  const holder = parseHolder(seen.text);
  if (!holder) {
    // written whole by link, an unreadable lock is damaged (a lock made without links may be
    // half written for a moment: a young one is read again)
    if (Date.now() - seen.mtime > 2000) return 'stale';
    sleep(50);
    return 'changed';
  }
  const here = holder.ns !== undefined ? holder.ns === me.ns : holder.host === me.host;
  // taken before this machine last started (a lock left by a crash or a power cut), judged where
  // there is no /proc to tell a reused pid by its start time (with it, the boot id is in `ns`, and
  // another machine of the same name is never taken for this one): stale
  const since = Date.parse(holder.since);
  if (here && holder.ns === undefined && since < Date.now() - uptime() * 1000 - 60_000) return 'stale';
  if (here) {
    if (holder.pid === process.pid) return held.has(resolve(path)) ? 'live' : 'stale';
    if (!alive(holder.pid)) return 'stale';
    const start = holder.start !== undefined ? startTime(holder.pid) : undefined;
    return start !== undefined && start !== holder.start ? 'stale' : 'live';
  }
  if (!holder.beat) return 'live';
  // elsewhere: alive while its heartbeat goes on
  const until = Date.now() + 2.5 * holder.beat;
  while (Date.now() < until) {
    sleep(Math.min(500, holder.beat / 4));
    const now = readLock(path);
    if (!now || now.text !== seen.text) return 'changed';
    if (now.mtime !== seen.mtime) return 'live';
  }
  return 'stale';
}

/** Takeover guards found in place: what each held and when this process first saw it so. */
const guardsSeen = new Map<string, { text: string; mtime: number; at: number }>();

/** Removes the lock read as `seen` if it is still that one, under the takeover guard. */
function removeStale(path: string, seen: string): void {
  const guard = `${path}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // another run is taking it over (a matter of microseconds), or died doing so: a guard this
    // process has seen unchanged for 10 s by its own clock (no other machine's clock involved)
    const now = readLock(guard);
    const seen = guardsSeen.get(guard);
    if (!now) guardsSeen.delete(guard);
    else if (!seen || seen.text !== now.text || seen.mtime !== now.mtime)
      guardsSeen.set(guard, { text: now.text, mtime: now.mtime, at: Date.now() });
    else if (Date.now() - seen.at > 10_000) {
      guardsSeen.delete(guard);
      rmSync(guard, { force: true });
      return;
    }
    sleep(20);
    return;
  }
  try {
    writeSync(fd, `${process.pid} ${hostname()} ${Date.now()}`);
    closeSync(fd);
    if (readLock(path)?.text === seen) rmSync(path, { force: true });
  } finally {
    rmSync(guard, { force: true });
  }
}

/**
 * A thread that touches the lock every `beat` ms, whatever the main thread is doing, while the lock
 * holds `text` (this run's).
 */
function heartbeat(path: string, beat: number, text: string): Worker {
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const { readFileSync, utimesSync } = require('node:fs');
     setInterval(() => {
       try {
         if (readFileSync(workerData.path, 'utf8') !== workerData.text) return;
         const t = new Date();
         utimesSync(workerData.path, t, t);
       } catch {}
     }, workerData.beat);`,
    // a script of its own, whatever flags (--input-type=module) the process was started with
    { eval: true, execArgv: [], workerData: { path, beat, text } },
  );
  // a heartbeat that fails only makes the lock look dead sooner elsewhere: never the run's end
  worker.on('error', () => {});
  worker.unref();
  return worker;
}

function holderText(holder: Holder): string {
  return `pid ${holder.pid} on ${holder.host}, since ${holder.since}`;
}

/**
 * A lock taken: called, it releases the lock (removed if it still holds this run's text); `check()`
 * throws a RegimesError when it no longer does (taken over by a run that judged this one dead, or
 * removed), which a writer calls before each row it appends.
 */
export type ResultsLock = (() => void) & { check(): void };

/**
 * Take the lock of `resultsFile` for a run (or a merge, `what`). Throws RegimesError naming a live
 * holder.
 */
export function lockResults(resultsFile: string, what: 'run' | 'merge' = 'run'): ResultsLock {
  const path = `${resultsFile}.lock`;
  try {
    makeFolder(dirname(path));
  } catch (error) {
    throw new RegimesError(
      `cannot create the folder of ${resultsFile}: ${(error as Error).message.split(',')[0]}`,
      {
        hint: 'choose a folder you can write to with -o (--out)',
        cause: error,
      },
    );
  }
  const ns = namespace();
  const start = startTime(process.pid);
  const beat = beatMs();
  const me: Holder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    what,
    ...(ns !== undefined ? { ns } : {}),
    ...(start !== undefined ? { start } : {}),
    beat,
  };
  const mine = `${path}.${me.host}.${me.pid}.${randomBytes(4).toString('hex')}`;
  const text = JSON.stringify(me);
  // the lock made whole from a file of this run's own, which lives only for the attempt: never
  // through the wait to judge a holder, when Ctrl-C would leave it behind
  const attempt = () => {
    try {
      writeSolo(mine, text);
    } catch (error) {
      throw unwritable(resultsFile, error);
    }
    try {
      createWhole(mine, path, text);
    } finally {
      rmSync(mine, { force: true });
    }
  };
  for (const until = Date.now() + 60_000; Date.now() < until;) {
    try {
      attempt();
    } catch (error) {
      if (error instanceof RegimesError) throw error;
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unwritable(resultsFile, error);
      let seen: { text: string; mtime: number } | undefined;
      let verdict: Verdict;
      try {
        seen = readLock(path);
        if (!seen) continue;
        verdict = judge(path, seen, me);
        if (verdict === 'stale') removeStale(path, seen.text);
      } catch (error) {
        // a lock that is a folder, another user's unreadable file, a guard that cannot be made
        throw unwritable(resultsFile, error);
      }
      if (verdict !== 'live') continue;
      const holder = parseHolder(seen.text)!;
      const gerund = holder.what === 'merge' ? 'merged into' : 'written';
      throw new RegimesError(
        `${resultsFile} is being ${gerund} by another regimes ${holder.what ?? 'run'} (${holderText(holder)})`,
        {
          hint:
            holder.beat || holder.ns === me.ns || holder.host === me.host
              ? 'wait for it to finish, write elsewhere with --out (RunOptions.out), or split the sweep with --shard'
              : `if that run is gone, remove ${path}; else write elsewhere with --out`,
        },
      );
    }
    let worker: Worker;
    try {
      worker = heartbeat(path, beat, text);
    } catch (error) {
      // no thread to beat with (a thread limit, a permission model): the lock is not kept
      rmSync(path, { force: true });
      throw new RegimesError(
        `cannot start the lock's heartbeat thread for ${resultsFile}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    held.add(resolve(path));
    const release = () => {
      process.off('exit', release);
      void worker.terminate();
      held.delete(resolve(path));
      if (readLock(path)?.text === text) rmSync(path, { force: true });
    };
    process.on('exit', release);
    return Object.assign(release, { check: () => checkHeld(resultsFile, path, text, what, beat) });
  }
  throw new RegimesError(`could not take the lock ${path}: other runs take it over and over`, {
    hint: 'run one regimes command per results file',
  });
}

/** Throws when the lock at `path` no longer holds `text`, naming what holds it now. */
function checkHeld(resultsFile: string, path: string, text: string, what: string, beat: number): void {
  let now: string | undefined;
  try {
    now = readLock(path)?.text;
  } catch (error) {
    throw unwritable(resultsFile, error);
  }
  if (now === text) return;
  const holder = now === undefined ? undefined : parseHolder(now);
  const state =
    now === undefined
      ? 'is gone'
      : holder
        ? `now holds another regimes ${holder.what ?? 'run'} (${holderText(holder)})`
        : 'now holds something else';
  throw new RegimesError(
    `the lock ${path} ${state}: this ${what} no longer holds ${resultsFile} and stops before writing to it again; the rows it wrote stand`,
    {
      hint: `a run on another machine takes a lock over once its holder's heartbeat has stopped for 2.5 beats (${(2.5 * beat) / 1000} s: this process was paused or stalled that long), and a lock removed by hand is free to any run; once no other run writes ${resultsFile}, run the same command again: it resumes from the rows there`,
    },
  );
}

/**
 * `path` made exclusively with `text` in it, from the file `mine` that holds it: a hard link, made
 * whole at once; where the file system has no hard links, created empty with O_EXCL and written.
 */
function createWhole(mine: string, path: string, text: string): void {
  try {
    linkSync(mine, path);
  } catch (error) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes((error as NodeJS.ErrnoException).code ?? ''))
      throw error;
    writeSolo(path, text, 'wx');
  }
}

function writeSolo(path: string, text: string, flags = 'w'): void {
  const fd = openSync(path, flags);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function unwritable(resultsFile: string, error: unknown): RegimesError {
  const e = error as NodeJS.ErrnoException;
  const why =
    e.code === 'EROFS'
      ? 'its folder is on a read-only file system'
      : e.code === 'EACCES' || e.code === 'EPERM'
        ? 'this user may not write it or its folder'
        : e.code === 'EISDIR'
          ? 'it is a folder'
          : e.code === 'ENOSPC'
            ? 'the disk is full'
            : e.message;
  const lock = `${resultsFile}.lock`;
  return new RegimesError(`cannot take the lock ${lock} of ${resultsFile}: ${why}`, {
    hint:
      e.code === 'ENOSPC'
        ? 'free space on that disk, or write elsewhere with -o (--out)'
        : e.code === 'EISDIR'
          ? `${lock} is a folder: remove it, or write elsewhere with -o (--out)`
          : e.code === 'EACCES' || e.code === 'EPERM'
            ? `if no run of another user holds it, ask its owner to remove ${lock}; else write elsewhere with -o (--out)`
            : 'choose a folder you can write to with -o (--out)',
    cause: error,
  });
}
