// The architecture as the tree shows it: no import cycle between the modules of a package, packages
// that depend on each other only downwards (numerics ← core ← plugins ← cli), no code that parses a
// results row's key, and docs/architecture.md's tables equal to what the built CLI registers.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(repo, 'packages');
const packages = readdirSync(packagesDir).filter((p) =>
  statSync(join(packagesDir, p, 'src'), { throwIfNoEntry: false }),
);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The specifiers a module imports or re-exports (type-only imports included: they are edges a reader follows). */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'/g),
  ].map((m) => (m[1] ?? m[2])!);
}

/** Every cycle of the relative-import graph among `files` (each reported once, from its smallest member). */
function cycles(files: string[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const f of files)
    graph.set(
      f,
      imports(f)
        .filter((s) => s.startsWith('.'))
        .map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts'))),
    );
  const found = new Map<string, string[]>();
  const visit = (node: string, path: string[]) => {
    for (const next of graph.get(node) ?? []) {
      const at = path.indexOf(next);
      if (at >= 0) {
        const cycle = path.slice(at);
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const canonical = [...cycle.slice(start), ...cycle.slice(0, start)];
        found.set(canonical.join(' → '), canonical);
      } else if (path.length < 40) visit(next, [...path, next]);
    }
  };
  for (const f of files) visit(f, [f]);
  return [...found.values()];
}

describe('the module graph', () => {
  it.each(packages)('%s: no import cycle between its modules', (pkg) => {
    const files = sources(join(packagesDir, pkg, 'src'));
    const found = cycles(files).map((c) => c.map((f) => relative(packagesDir, f)).join(' → '));
    expect(found).toEqual([]);
  });

  it('packages depend only downwards: numerics on no regimes package, core on numerics, the CLI on nothing above it', () => {
    const manifest = (pkg: string) =>
      JSON.parse(readFileSync(join(packagesDir, pkg, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
    const regimesDeps = (pkg: string) => {
      const m = manifest(pkg);
      return Object.keys({ ...m.dependencies, ...m.peerDependencies }).filter((d) =>
        d.startsWith('@regimes/'),
      );
    };
    expect(regimesDeps('numerics')).toEqual([]);
    expect(regimesDeps('core')).toEqual(['@regimes/numerics']);
    for (const pkg of packages.filter((p) => p !== 'cli'))
      expect(regimesDeps(pkg), pkg).not.toContain('@regimes/cli');
    // and what the sources import is what the manifests declare
    for (const pkg of packages) {
      const declared = new Set(regimesDeps(pkg));
      const used = new Set(
        sources(join(packagesDir, pkg, 'src'))
          .flatMap(imports)
          .filter((s) => s.startsWith('@regimes/'))
          .map((s) => s.split('/').slice(0, 2).join('/'))
          .filter((s) => s !== `@regimes/${pkg}`),
      );
      expect(
        [...used].filter((u) => !declared.has(u)),
        `${pkg} imports undeclared packages`,
      ).toEqual([]);
    }
  });

  it("no source reads a results row's key: identity is in cellKey, learner.id and variant", () => {
    const offenders = packages
      .flatMap((pkg) => sources(join(packagesDir, pkg, 'src')))
      .filter((f) => !f.endsWith(join('engine', 'results.ts'))) // the one legacy upgrade of pre-0.2 rows
      .filter((f) =>
        /\brow\.key\.(split|slice|lastIndexOf|indexOf|match)\b|\.key\.split\('\|'\)/.test(
          readFileSync(f, 'utf8'),
        ),
      )
      .map((f) => relative(packagesDir, f));
    expect(offenders).toEqual([]);
  });

  it('no source reads a tensor synchronously: tfjs-webgpu cannot under Node (docs/backends.md)', () => {
    const offenders = packages
      .flatMap((pkg) => sources(join(packagesDir, pkg, 'src')))
      .filter((f) => /\.(dataSync|arraySync|bufferSync)\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(packagesDir, f));
    expect(offenders).toEqual([]);
  });
});

describe('docs/architecture.md', () => {
  const doc = readFileSync(join(repo, 'docs', 'architecture.md'), 'utf8');
  const cli = join(repo, 'packages', 'cli', 'bin', 'regimes.js');

  it('lists, for each plugin package, exactly the kinds `regimes list` shows it registering', () => {
    const run = spawnSync(process.execPath, [cli, 'list'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    // `targets:` headings, then `  <kind> — <description> [<plugin>]` per kind
    const byPackage = new Map<string, Set<string>>();
    let point = '';
    for (const line of run.stdout.split('\n')) {
      const heading = /^(\w+)s:$/.exec(line);
      if (heading) point = heading[1]!;
      const kind = /^ {2}(\S+) — .*\[(@regimes\/[\w-]+)\]$/.exec(line);
      if (kind) byPackage.set(kind[2]!, (byPackage.get(kind[2]!) ?? new Set()).add(`${point}:${kind[1]}`));
    }
    expect(byPackage.size).toBeGreaterThan(3);
    // the table "Kinds by package": | package | point | kinds |
    const table = doc.split('## Kinds by package')[1]?.split('\n## ')[0] ?? '';
    const documented = new Map<string, Set<string>>();
    for (const line of table.split('\n')) {
      const cells = line.split('|').map((c) => c.trim());
      if (cells.length < 4 || !cells[1]!.startsWith('`@regimes/')) continue;
      const pkg = cells[1]!.replaceAll('`', '');
      for (const kind of cells[3]!.matchAll(/`([^`]+)`/g))
        documented.set(pkg, (documented.get(pkg) ?? new Set()).add(`${cells[2]}:${kind[1]}`));
    }
    const sorted = (m: Map<string, Set<string>>) =>
      Object.fromEntries(
        [...m].map(([k, v]) => [k, [...v].sort()]).sort(([a], [b]) => String(a).localeCompare(String(b))),
      );
    expect(sorted(documented)).toEqual(sorted(byPackage));
  });

  it('names every package of the workspace with all its dependencies', () => {
    const table = doc.split('## Packages')[1]?.split('\n## ')[0] ?? '';
    for (const pkg of packages) {
      const line = table.split('\n').find((l) => l.startsWith(`| \`@regimes/${pkg}\``));
      expect(line, `@regimes/${pkg} has a row in the Packages table`).toBeDefined();
      const m = JSON.parse(readFileSync(join(packagesDir, pkg, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
      const deps = Object.keys({ ...m.dependencies, ...m.peerDependencies });
      const documented = line!.split('|')[2]!;
      for (const d of deps)
        expect(documented, `${pkg}'s dependency ${d}`).toContain(d.replace(/^@[^/]+\//, ''));
    }
  });
});
