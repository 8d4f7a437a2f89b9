/** `regimes merge`: the results files of a sharded sweep in one, checked against the spec. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  badLinesText,
  formatRow,
  lockResults,
  type Plan,
  RegimesError,
  rowCount,
  uncheckedText,
} from '@regimes/core';
import type { Command } from 'commander';
import { shardFiles, writeAtomic } from '../results/files.js';
import type { MergeReport } from '../results/merge.js';
import { EXIT_FAILED_ROWS, planSpec, pluginOption, type PluginFlags, type SetExit } from './shared.js';

interface MergeFlags extends PluginFlags {
  out?: string;
  spec?: string;
  force?: boolean;
}

export function registerMerge(program: Command, setExit: SetExit): void {
  program
    .command('merge')
    .description(
      'merge the results files of a sharded sweep: one spec only (hash), duplicates and missing cells reported',
    )
    .argument('<inputs...>', 'results files, or folders (their results.shard-*.jsonl)')
    .option('-o, --out <file>', 'merged file (default: <folder>/results.jsonl when one folder is given)')
    .option('--spec <file>', 'the spec, to list missing cells (default: the spec.json beside the results)')
    .option(
      '--force',
      'replace an output file that holds rows of another spec (by default they are kept and nothing is written)',
    )
    .addOption(pluginOption('extra plugins (package names or paths), for the kinds of --spec'))
    .action(async (inputs: string[], flags: MergeFlags) => {
      if (await merge(inputs, flags)) setExit(EXIT_FAILED_ROWS);
    });
}

/** Merge; true when rows of the spec are missing. */
async function merge(inputs: string[], flags: MergeFlags): Promise<boolean> {
  const { files, folders } = mergeInputs(inputs);
  const out = mergeOutput(flags.out, folders);
  // the spec copy a run writes beside its results: in a folder given, else beside a file given
  const specPath =
    flags.spec ??
    [...folders, ...files.map((f) => dirname(f))].map((f) => join(f, 'spec.json')).find((p) => existsSync(p));
  const plan = specPath ? (await planSpec(specPath, flags.plugin)).plan : undefined;
  const { mergeResults } = await import('../results/merge.js');
  // the output's lock, as a run holds it: a run still appending there would lose the rows it
  // wrote between this read and the rename of the merged file
  const release = lockResults(out, 'merge');
  try {
    // rows already in the output (an unsharded run's, an earlier merge's) are merged too, never lost
    let kept = existsSync(out) && !files.some((f) => resolve(f) === resolve(out)) ? [out] : [];
    let report = mergeResults([...kept, ...files], plan);
    // the spec of the files merged: the plan's, else the one they all share (none where they differ)
    const inputsHash =
      kept.length && report.foreign.length
        ? plan
          ? report.specHash
          : mergeResults(files).specHash
        : undefined;
    if (inputsHash && report.foreign.every((f) => f.path === out || f.hash === inputsHash)) {
      // an earlier merge of another spec, or a whole run of one: replaced only when asked
      const what = report.foreign
        .filter((f) => f.path === out && f.hash !== inputsHash)
        .map((f) => `${f.rows} row(s) of spec ${f.hash}`)
        .join(', ');
      if (!flags.force)
        throw new RegimesError(
          `${out} holds ${what}, not of the spec of the files merged (${inputsHash}); nothing was written`,
          {
            hint: `merge into another file with -o, move ${out} away, or pass --force to replace its rows`,
          },
        );
      process.stderr.write(`warning: ${out} held ${what}: replaced by this merge (--force)\n`);
      kept = [];
      report = mergeResults(files, plan);
    }
    if (report.foreign.length) throw foreignRows(report);
    warnBadLines(report);
    // still this merge's lock (a merge paused past the heartbeat's 25 s is taken over elsewhere):
    // else the rename would drop the rows that run appended since the read
    release.check();
    writeAtomic(out, report.rows.map(formatRow).join(''));
    process.stdout.write(
      `merged ${report.rows.length} rows from ${files.length} file(s)${kept.length ? ` and the rows already in ${out}` : ''} into ${out}\n`,
    );
    process.stdout.write(duplicatesText(report, kept));
    process.stdout.write(missingText(report, plan));
    return Boolean(plan && report.missing.length);
  } finally {
    release();
  }
}

/** The files to merge: results files as given, and the shard files of each folder. */
function mergeInputs(inputs: readonly string[]): { files: string[]; folders: string[] } {
  const files: string[] = [];
  const folders: string[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) throw new RegimesError(`${input}: no such file or folder`);
    if (statSync(input).isDirectory()) {
      folders.push(input);
      files.push(...shardFiles(input));
    } else files.push(input);
  }
  return { files, folders };
}

/**
 * The merged file: -o, else results.jsonl of the one folder given. When it exists, its rows are
 * merged with the inputs' (it is read first, so an input's newer attempt of a fit supersedes it).
 */
function mergeOutput(flag: string | undefined, folders: readonly string[]): string {
  const out = flag ?? (folders.length === 1 ? join(folders[0]!, 'results.jsonl') : undefined);
  if (!out) throw new RegimesError('say where to write the merged rows', { hint: 'use -o <file>' });
  if (existsSync(out) && statSync(out).isDirectory())
    throw new RegimesError(`${out} is a folder`, {
      hint: 'give -o a file name (e.g. <folder>/results.jsonl)',
    });
  return out;
}

function foreignRows(report: MergeReport): RegimesError {
  const lines = (ls: readonly number[]) => `${ls.slice(0, 10).join(', ')}${ls.length > 10 ? ', …' : ''}`;
  const files = report.foreign
    .map((f) => `${f.path}: ${f.rows} row(s) of spec ${f.hash} (line(s) ${lines(f.lines)})`)
    .join('; ');
  return new RegimesError(
    `rows of another spec: ${files} (expected ${report.specHash ?? 'one spec in all files'}); nothing was written`,
    { hint: 'merge only the shards of one spec, or give the right --spec' },
  );
}

function warnBadLines(report: MergeReport): void {
  for (const i of report.inputs) {
    if (i.problems.length)
      process.stderr.write(
        `warning: ${badLinesText(i.path, i.problems)}; skipped (later intact rows of their fits are merged); if their fits are listed missing below, rerun that shard (it resumes, recomputing them) and merge again\n`,
      );
    const unchecked = uncheckedText(i.path, i);
    if (unchecked) process.stderr.write(`warning: ${unchecked}; merged, and written with a checksum\n`);
  }
}

/** Keys in more than one input (the output's own rows, merged again, are not duplicates). */
function duplicatesText(report: MergeReport, kept: readonly string[]): string {
  const duplicates = report.duplicates.filter((d) => d.files.filter((f) => !kept.includes(f)).length > 1);
  if (!duplicates.length) return '';
  const examples = duplicates.slice(0, 5).map((d) => `  ${d.key}: ${d.files.join(', ')}\n`);
  return `${duplicates.length} row key(s) were in more than one file (of each fit, one file's rows were kept whole: a complete fit before a partial one, then one with every row ok, then the later), e.g.\n${examples.join('')}`;
}

function missingText(report: MergeReport, plan: Plan | undefined): string {
  if (!plan) return 'no spec found: missing cells not checked (give --spec)\n';
  if (!report.missing.length) return 'every (cell, learner) row of the spec is present\n';
  const examples = report.missing.slice(0, 10).map((k) => `  ${k}\n`);
  return (
    `${report.missing.length} of ${rowCount(plan.cells)} (cell, learner) rows are missing, e.g.\n` +
    `${examples.join('')}rerun the shards that hold them (a rerun resumes) and merge again\n`
  );
}
