/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours as 1 each. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** A name's words, lower case: `biasVariance`, `bias_variance` and `bias-variance` give bias, variance. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[-_ .]+/)
    .filter(Boolean);
}

/**
 * How far `word` is from `candidate`, a typo's distance: 0 for the same words spelt another way
 * (`bias_variance` for `biasVariance`), 0.25 for the same words in another order (`ntk-empirical`),
 * 0.5 for a truncated name (at least two letters), 0.75 for a name with words added after it
 * (`cosine-decay` for `cosine`), else the edit distance.
 */
function typoDistance(word: string, candidate: string): number {
  const [w, c] = [words(word), words(candidate)];
  if (w.join(' ') === c.join(' ')) return 0;
  if (w.length > 1 && [...w].sort().join(' ') === [...c].sort().join(' ')) return 0.25;
  const lower = word.toLowerCase();
  const name = candidate.toLowerCase();
  if (lower.length >= 2 && name.startsWith(lower)) return 0.5;
  if (c.length < w.length && c.every((part, i) => part === w[i]) && name.length >= 2) return 0.75;
  return editDistance(lower, name);
}

/**
 * The candidate nearest to `word`, if it is near enough to be a plausible typo (at most a third of
 * the longer word's letters differ, or one of the forms of {@link typoDistance} below 1).
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  // words added to a name (`ntk-standard`) say nothing when another name is among its words too
  const parts = words(word);
  const among = list.filter((c) => words(c).every((part) => parts.includes(part))).length;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of list) {
    let distance = typoDistance(word, candidate);
    if (distance === 0.75 && among > 1) distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(word.length, best.length) / 3));
  return bestDistance <= limit ? best : undefined;
}
