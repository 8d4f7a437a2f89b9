/**
 * The progress bar of `regimes run`: cells done / total with an ETA, and the step count of the fit
 * in progress. Drawn on stderr only when it is a terminal (and not --quiet); row lines are
 * printed above it.
 */
export interface ProgressOptions {
  readonly stream: NodeJS.WriteStream;
  /** Draw the bar (a TTY, not --quiet). */
  readonly bar: boolean;
  /** Print a line per finished row (not --quiet). */
  readonly lines: boolean;
}

const duration = (s: number) =>
  !Number.isFinite(s)
    ? '?'
    : s < 60
      ? `${Math.round(s)}s`
      : s < 3600
        ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
        : `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;

export class ProgressDisplay {
  private readonly started = performance.now();
  private done = 0;
  private total = 0;
  /** Rows run now (resumed ones take no time and do not count for the ETA). */
  private ranNow = 0;
  private fit: { key: string; done: number; total: number } | undefined;
  private drawn = false;

  constructor(private readonly o: ProgressOptions) {}

  /** The bar's text for a terminal `columns` wide. */
  render(columns = 100): string {
    const elapsed = (performance.now() - this.started) / 1000;
    const left = this.total - this.done;
    const eta = this.ranNow ? (elapsed / this.ranNow) * left : Number.NaN;
    const width = 24;
    const filled = this.total ? Math.round((width * this.done) / this.total) : 0;
    let text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} rows  ${duration(elapsed)} elapsed, ETA ${left ? duration(eta) : '0s'}`;
    if (this.fit && this.fit.done < this.fit.total)
      text += `  ${this.fit.key}: step ${this.fit.done}/${this.fit.total}`;
    return text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text;
  }

  private clear(): void {
    if (this.drawn) this.o.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(): void {
    if (!this.o.bar) return;
    this.clear();
    this.o.stream.write(this.render(this.o.stream.columns ?? 100));
    this.drawn = true;
  }

  row(line: string, done: number, total: number, resumed: boolean): void {
    // one call per row: a fit of several rows (a ridge list's λ) counts once
    if (!resumed && done !== this.done) this.ranNow++;
    this.done = done;
    this.total = total;
    this.fit = undefined;
    if (this.o.lines) {
      this.clear();
      this.o.stream.write(`${line}\n`);
    }
    this.draw();
  }

  start(total: number, resumed: number): void {
    this.total = total;
    this.done = resumed;
    this.draw();
  }

  fitProgress(key: string, done: number, total: number): void {
    this.fit = { key, done, total };
    this.draw();
  }

  finish(): void {
    this.clear();
  }
}
