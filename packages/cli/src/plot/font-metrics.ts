/**
 * Advance widths from a TrueType file (its cmap and hmtx tables), so that Vega lays text out with
 * the widths of the font the PNG renderer draws it in. Kerning is ignored (a few tenths of a pixel).
 */

export interface FontMetrics {
  readonly unitsPerEm: number;
  /** Width of `text` at `size` pixels, the sum of its characters' advances. */
  width(text: string, size: number): number;
}

function tables(view: DataView): Map<string, { offset: number; length: number }> {
  const count = view.getUint16(4);
  const out = new Map<string, { offset: number; length: number }>();
  for (let i = 0; i < count; i++) {
    const at = 12 + 16 * i;
    const tag = String.fromCharCode(...[0, 1, 2, 3].map((k) => view.getUint8(at + k)));
    out.set(tag, { offset: view.getUint32(at + 8), length: view.getUint32(at + 12) });
  }
  return out;
}

/** The character → glyph map of the font's Unicode cmap subtable (format 12, else format 4). */
function glyphMap(view: DataView, cmap: number): (codePoint: number) => number {
  const count = view.getUint16(cmap + 2);
  const subtables: { platform: number; encoding: number; offset: number; format: number }[] = [];
  for (let i = 0; i < count; i++) {
    const at = cmap + 4 + 8 * i;
    const offset = cmap + view.getUint32(at + 4);
    subtables.push({
      platform: view.getUint16(at),
      encoding: view.getUint16(at + 2),
      offset,
      format: view.getUint16(offset),
    });
  }
  const unicode = (s: (typeof subtables)[number]) =>
    s.platform === 0 || (s.platform === 3 && [1, 10].includes(s.encoding));
  const full = subtables.find((s) => unicode(s) && s.format === 12);
  if (full) {
    const groups = view.getUint32(full.offset + 12);
    return (c) => {
      for (let g = 0; g < groups; g++) {
        const at = full.offset + 16 + 12 * g;
        const start = view.getUint32(at);
        if (c >= start && c <= view.getUint32(at + 4)) return view.getUint32(at + 8) + (c - start);
      }
      return 0;
    };
  }
  const bmp = subtables.find((s) => unicode(s) && s.format === 4);
  if (!bmp) throw new Error('the font has no Unicode cmap subtable of format 4 or 12');
  const o = bmp.offset;
  const segments = view.getUint16(o + 6) / 2;
  const ends = o + 14;
  const starts = ends + 2 * segments + 2;
  const deltas = starts + 2 * segments;
  const rangeOffsets = deltas + 2 * segments;
  return (c) => {
    if (c > 0xffff) return 0;
    for (let i = 0; i < segments; i++) {
      if (view.getUint16(ends + 2 * i) < c) continue;
      const start = view.getUint16(starts + 2 * i);
      if (start > c) return 0;
      const delta = view.getInt16(deltas + 2 * i);
      const rangeOffset = view.getUint16(rangeOffsets + 2 * i);
      if (rangeOffset === 0) return (c + delta) & 0xffff;
      const glyph = view.getUint16(rangeOffsets + 2 * i + rangeOffset + 2 * (c - start));
      return glyph === 0 ? 0 : (glyph + delta) & 0xffff;
    }
    return 0;
  };
}

/** Parse the advance widths of a TrueType font. */
export function fontMetrics(data: Uint8Array): FontMetrics {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const t = tables(view);
  const need = (tag: string) => {
    const table = t.get(tag);
    if (!table) throw new Error(`the font has no '${tag}' table`);
    return table.offset;
  };
  const unitsPerEm = view.getUint16(need('head') + 18);
  const metricsCount = view.getUint16(need('hhea') + 34);
  const hmtx = need('hmtx');
  const glyphOf = glyphMap(view, need('cmap'));
  const advance = (glyph: number) => view.getUint16(hmtx + 4 * Math.min(glyph, metricsCount - 1));
  const cache = new Map<number, number>();
  return {
    unitsPerEm,
    width(text, size) {
      let units = 0;
      for (const ch of text) {
        const c = ch.codePointAt(0)!;
        let a = cache.get(c);
        if (a === undefined) cache.set(c, (a = advance(glyphOf(c))));
        units += a;
      }
      return (units * size) / unitsPerEm;
    },
  };
}
