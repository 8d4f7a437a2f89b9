/**
 * One writer per results file: `regimes run` holds `<results>.lock` (created exclusively, holding
 * the writer's pid, host and start) for as long as it writes, so a second run on the same file
 * stops at once with the holder's name instead of computing everything twice. A lock left by a
 * process that died (same host, pid gone) is stale and taken over; one from another host is
 * reported, since its process cannot be checked from here. Shards write files of their own, so a
 * sharded sweep still runs in parallel into one folder.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { RegimesError } from '../contracts/errors.js';
import { makeFolder } from './results.js';

interface Holder {
  pid: number;
  host: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' ? (h as Holder) : undefined;
  } catch {
    return undefined;
  }
}

/** Take the lock of `resultsFile`; returns its release. Throws RegimesError naming a live holder. */
export function lockResults(resultsFile: string): () => void {
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
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(path);
      if (holder && (holder.host !== me.host || alive(holder.pid)))
        throw new RegimesError(
          `${resultsFile} is being written by another regimes run (pid ${holder.pid} on ${holder.host}, since ${holder.since})`,
          {
            hint:
              holder.host === me.host
                ? 'wait for it to finish, write elsewhere with --out, or split the sweep with --shard'
                : `if that run is gone, remove ${path}; else write elsewhere with --out`,
          },
        );
      // the holder died (or the file is unreadable, cut by a kill): the lock is stale
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, JSON.stringify(me));
    closeSync(fd);
    const release = () => {
      if (readHolder(path)?.pid === me.pid) rmSync(path, { force: true });
      process.off('exit', release);
    };
    process.on('exit', release);
    return release;
  }
  throw new RegimesError(`could not take the lock ${path}: another run takes it at the same moment`);
}
