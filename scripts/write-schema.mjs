#!/usr/bin/env node
// Writes packages/cli/schema/spec.schema.json, the spec's JSON Schema with every default kind's
// options, from the built CLI (`regimes schema` prints it): `npm run build` runs this after tsc, so
// the file follows the registered kinds without being committed. Editors find it through the
// modeline of the examples (`$schema=../packages/cli/schema/spec.schema.json`); @regimes/cli ships it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages', 'cli', 'bin', 'regimes.js');
const out = join(root, 'packages', 'cli', 'schema', 'spec.schema.json');

const text = execFileSync(process.execPath, [bin, 'schema'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
JSON.parse(text); // whole, or the build fails here
// unchanged: leave the file (and its time stamp, which editors watch) alone
if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, out);
}
