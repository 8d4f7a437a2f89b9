/**
 * What `regimes serve` sends the page (runs.ts builds them, web/page.ts reads them). No imports:
 * the page's tsconfig (DOM, no Node types) type-checks this file too.
 */

export interface RunEntry {
  /** The results file's path below the served folder, with '/' (the run's id in URLs). */
  id: string;
  /** Its folder below the served folder ('.' for the folder itself). */
  folder: string;
  bytes: number;
  modified: string;
}

/** A titled table of text cells, drawn the same way in report.md and report.html and on the page. */
export interface TextTable {
  title: string;
  header: string[];
  lines: string[][];
}

export interface RunView {
  id: string;
  name: string;
  rows: number;
  ok: number;
  /** Skipped lines and other warnings, as `plot` and `report` print them. */
  warnings: string[];
  summary: { header: string[]; lines: string[][] };
  spec: { text: string; source: string };
  provenance: TextTable[];
  /** What the figure controls offer: cell keys, metrics and diagnostics, trace fields. */
  keys: string[];
  values: string[];
  traceFields: string[];
  learners: string[];
}
