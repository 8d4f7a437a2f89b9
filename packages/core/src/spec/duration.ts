/**
 * Durations, for a learner's `timeout` and `--timeout`: a number of seconds, or a number with a
 * unit — `500ms`, `30s`, `10m`, `2h`, `1d`.
 */
const UNITS: Record<string, number> = { ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 };

/** Largest budget taken: 30 days (a timer cannot wait longer than about 24.8 days in one go anyway). */
export const MAX_DURATION_S = 30 * 86400;

/** Seconds in `value`, or a message saying what is wrong with it. */
export function parseDuration(
  value: unknown,
): { ok: true; seconds: number } | { ok: false; problem: string } {
  let seconds = Number.NaN;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
    if (m) seconds = Number(m[1]) * UNITS[m[2] ?? 's']!;
  }
  if (!Number.isFinite(seconds) || seconds <= 0)
    return {
      ok: false,
      problem: `${JSON.stringify(value)} is not a duration; give seconds (30) or a number with a unit: 500ms, 30s, 10m, 2h, 1d`,
    };
  if (seconds > MAX_DURATION_S)
    return {
      ok: false,
      problem: `${JSON.stringify(value)} is longer than 30 days; leave it out for no time budget`,
    };
  return { ok: true, seconds };
}

/** `0.2 s`, `30 s`, `10 min`, `2 h`: a budget as people read it. */
export function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Number(seconds.toPrecision(3))} s`;
  if (seconds < 7200) return `${Number((seconds / 60).toPrecision(3))} min`;
  return `${Number((seconds / 3600).toPrecision(3))} h`;
}

/** A duration as a spec or `--timeout` takes it, rounded up to whole units: `90s`, `40m`, `3h`. */
export function durationText(seconds: number): string {
  if (seconds < 120) return `${Math.ceil(seconds)}s`;
  if (seconds < 7200) return `${Math.ceil(seconds / 60)}m`;
  return `${Math.ceil(seconds / 3600)}h`;
}
