/** `1 row`, `2 rows`, `0 rows`: a count and its noun, plural unless the count is one. */
export const counted = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
