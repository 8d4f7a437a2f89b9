/**
 * The live feed of `regimes serve`: one recursive fs.watch on the served folder (inotify: no
 * polling); a change to a results file is read, after a short quiet time, from where the last read
 * stopped — only the appended lines — and pushed to the pages as a server-sent event with the
 * rows' keys and any line that is not a row (reported, skipped). A file that shrank was rewritten
 * (a `--force` run): it is read from the start.
 */
import {
  closeSync,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
  watch,
  type FSWatcher,
} from 'node:fs';
import { basename, join, relative, sep } from 'node:path';

const RESULTS_FILE = /^results(\.shard-\d+-of-\d+)?\.jsonl$/;

export interface FeedEvent {
  type: 'rows' | 'runs';
  /** The results file, below the served folder ('rows' events). */
  run?: string;
  /** The keys of the rows appended since the last event for this file. */
  rows?: string[];
  /** Appended lines that are not rows: line number and why. */
  skipped?: { line: number; reason: string }[];
  /** The file was rewritten from the start. */
  reset?: boolean;
}

interface Tail {
  offset: number;
  line: number;
  partial: string;
  /** The file's inode when last read: another one (merge's rename, a copy over it) is a new file. */
  ino?: number;
  timer?: NodeJS.Timeout;
}

export class Feed {
  private readonly root: string;
  private readonly tails = new Map<string, Tail>();
  private readonly listeners = new Set<(e: FeedEvent) => void>();
  private watcher: FSWatcher | undefined;
  private runsTimer: NodeJS.Timeout | undefined;

  constructor(
    root: string,
    private readonly quietMs = 120,
    private readonly warn: (m: string) => void = () => {},
  ) {
    this.root = realpathSync(root);
  }

  /** Start watching; the results files there now are read from their current end. */
  start(existing: readonly string[]): void {
    for (const id of existing) {
      const file = this.size(join(this.root, id));
      if (file !== undefined)
        this.tails.set(id, {
          offset: file.size,
          line: this.countLines(join(this.root, id)),
          partial: '',
          ino: file.ino,
        });
    }
    this.watcher = watch(this.root, { recursive: true }, (_event, name) => {
      if (!name) return;
      const id = String(name).split(sep).join('/');
      if (RESULTS_FILE.test(basename(id))) this.schedule(id);
      // a new folder or file may be a new run: the pages reload the list (once per quiet time)
      clearTimeout(this.runsTimer);
      this.runsTimer = setTimeout(() => this.emit({ type: 'runs' }), this.quietMs);
    });
    this.watcher.on('error', (e) => this.warn(`watching ${this.root}: ${e.message}`));
  }

  subscribe(listener: (e: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.watcher?.close();
    clearTimeout(this.runsTimer);
    for (const t of this.tails.values()) clearTimeout(t.timer);
  }

  private emit(e: FeedEvent): void {
    for (const l of this.listeners) l(e);
  }

  private schedule(id: string): void {
    const tail = this.tails.get(id) ?? { offset: 0, line: 0, partial: '' };
    this.tails.set(id, tail);
    clearTimeout(tail.timer);
    tail.timer = setTimeout(() => this.read(id, tail), this.quietMs);
  }

  private size(path: string): { size: number; ino: number } | undefined {
    try {
      if (!regularFile(path)) return undefined;
      const fd = openSync(path, 'r');
      try {
        const { size, ino } = fstatSync(fd);
        return { size, ino };
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }

  private countLines(path: string): number {
    const text = this.readFrom(path, 0);
    return text ? text.split('\n').length - 1 : 0;
  }

  private readFrom(path: string, offset: number): string | undefined {
    let fd;
    try {
      if (!regularFile(path)) return undefined;
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      const size = fstatSync(fd).size;
      const buffer = Buffer.alloc(Math.max(0, size - offset));
      let at = 0;
      while (at < buffer.length) {
        const got = readSync(fd, buffer, at, buffer.length - at, offset + at);
        if (!got) break;
        at += got;
      }
      return buffer.subarray(0, at).toString('utf8');
    } finally {
      closeSync(fd);
    }
  }

  /** Read what was appended to a results file since the last read, and announce it. */
  private read(id: string, tail: Tail): void {
    const path = join(this.root, id);
    if (relative(this.root, path).startsWith('..')) return;
    const file = this.size(path);
    if (file === undefined) return;
    let reset = false;
    // shorter, or another file under the name (replaced whole): read again from its start
    if (file.size < tail.offset || (tail.ino !== undefined && file.ino !== tail.ino)) {
      Object.assign(tail, { offset: 0, line: 0, partial: '' });
      reset = true;
    }
    tail.ino = file.ino;
    const text = this.readFrom(path, tail.offset);
    if (text === undefined) return;
    tail.offset += Buffer.byteLength(text);
    const lines = (tail.partial + text).split('\n');
    tail.partial = lines.pop() ?? ''; // a line still being written
    const rows: string[] = [];
    const skipped: { line: number; reason: string }[] = [];
    for (const line of lines) {
      tail.line++;
      if (!line.trim()) continue;
      try {
        const row = JSON.parse(line) as { key?: unknown };
        if (typeof row?.key !== 'string')
          skipped.push({ line: tail.line, reason: 'not a results row (no key)' });
        else rows.push(row.key);
      } catch (error) {
        skipped.push({ line: tail.line, reason: `not JSON (${(error as Error).message})` });
      }
    }
    if (rows.length || skipped.length || reset)
      this.emit({ type: 'rows', run: id, rows, skipped, ...(reset ? { reset } : {}) });
  }
}

/** Whether `path` is a regular file: opening a named pipe of that name would block the server. */
function regularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
