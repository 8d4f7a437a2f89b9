/**
 * `regimes report`: a run as report.md (figure linked) and report.html (self-contained, figure
 * inlined as SVG): the spec, the figure, the summary table, versions and backend, failures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Registry, ResultRow } from '@regimes/core';
import { summarize } from '../results/summary.js';
import { reportHtml } from './html.js';
import { reportMarkdown } from './markdown.js';
import { environment, failures, provenance, type ReportContent, specText } from './sections.js';

export interface ReportInput {
  rows: readonly ResultRow[];
  /** The results file the rows come from (named in the report). */
  resultsFile: string;
  /** Where the spec copy (spec.json) is looked for. */
  runDir: string;
  outDir: string;
  /** Draws the figure; a failure is reported in place of the figure. */
  figure: () => Promise<{ svg: string; png: Uint8Array }>;
  warn: (message: string) => void;
  /** The kinds, for a spec rebuilt from the rows (no spec.json): their options that have no effect are left out. */
  registry?: Registry;
}

/** Write report.md, report.html and the figure (report-figure.svg/.png); returns the paths written. */
export async function writeReport(input: ReportInput): Promise<string[]> {
  const { rows, outDir } = input;
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    writeFileSync(join(outDir, name), data);
    written.push(join(outDir, name));
  };
  const figure = await drawReportFigure(input);
  if ('png' in figure) {
    write('report-figure.svg', figure.svg);
    write('report-figure.png', figure.png);
  }
  const ok = rows.filter((r) => r.status === 'ok').length;
  const content: ReportContent = {
    name: [...new Set(rows.map((r) => r.spec))].join(', ') || '(empty)',
    counts: `${rows.length} rows: ${ok} ok, ${rows.length - ok} failed`,
    failedRows: rows.length - ok,
    resultsFile: relative(outDir, input.resultsFile) || input.resultsFile,
    spec: specText(rows, input.runDir, input.registry),
    figure,
    groups: summarize(rows),
    environment: environment(rows),
    provenance: provenance(rows, input.runDir, new Date()),
    failures: failures(rows),
  };
  write('report.md', reportMarkdown(content));
  write('report.html', reportHtml(content));
  return written;
}

/** The figure, or the reason it could not be drawn (warned about). */
async function drawReportFigure(
  input: ReportInput,
): Promise<{ svg: string; png: Uint8Array } | { error: string }> {
  try {
    return await input.figure();
  } catch (error) {
    const message = (error as Error).message;
    input.warn(`no figure: ${message}`);
    return { error: message };
  }
}
