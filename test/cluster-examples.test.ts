// examples/cluster/: the Slurm scripts, the Kubernetes manifests and the Dockerfile, checked with real
// tools where the machine has them (shellcheck, kubectl; CI installs shellcheck) and by running the
// scripts' shard arithmetic against a stub `regimes`. A check whose tool is missing is skipped, saying so.
// The image itself is not built here: that needs a Docker engine.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const repo = fileURLToPath(new URL('..', import.meta.url));
const cluster = join(repo, 'examples', 'cluster');
const scripts = ['slurm-array.sh', 'submit-slurm.sh', 'entrypoint.sh'].map((s) => join(cluster, s));
const read = (path: string) => readFileSync(path, 'utf8');

const has = (tool: string) => spawnSync('bash', ['-c', `command -v ${tool}`]).status === 0;

// A scratch folder with stubs: each records its name, OPENBLAS_NUM_THREADS and its arguments, one line
// a call (fields split by \x1f), in $STUB_LOG, and exits with $STUB_EXIT.
const scratch = mkdtempSync(join(tmpdir(), 'regimes-cluster-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const stubs = join(scratch, 'bin');
mkdirSync(stubs);
for (const name of ['regimes', 'regimes-entrypoint', 'apptainer', 'sbatch']) {
  const reply =
    name === 'sbatch'
      ? 'if [ "$(wc -l <"$STUB_LOG")" = 1 ]; then echo "4242;cluster"; else echo 4243; fi\n'
      : '';
  writeFileSync(
    join(stubs, name),
    '#!/bin/sh\n' +
      `{ printf '%s\\037%s' ${name} "OPENBLAS_NUM_THREADS=\${OPENBLAS_NUM_THREADS:-}"; ` +
      `for a in "$@"; do printf '\\037%s' "$a"; done; printf '\\n'; } >>"$STUB_LOG"\n` +
      reply +
      'exit "${STUB_EXIT:-0}"\n',
  );
  chmodSync(join(stubs, name), 0o755);
}

interface Call {
  tool: string;
  openblasThreads: string;
  args: string[];
}

let runs = 0;
/** Runs a bash script (or `-c` command) with the stubs first on PATH; returns its result and the stubs' calls. */
function runWithStubs(
  argv: string[],
  env: Record<string, string> = {},
  cwd = scratch,
): { result: SpawnSyncReturns<string>; calls: Call[] } {
  const log = join(scratch, `calls-${runs++}.log`);
  writeFileSync(log, '');
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(SLURM_|REGIMES_|OPENBLAS_NUM_THREADS$|APPTAINER|SINGULARITY)/.test(k),
    ),
  );
  const result = spawnSync('bash', argv, {
    cwd,
    encoding: 'utf8',
    env: { ...base, PATH: `${stubs}:${process.env.PATH}`, STUB_LOG: log, ...env },
  });
  const calls = read(log)
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [tool, threads, ...args] = line.split('\x1f');
      return { tool: tool!, openblasThreads: threads!.replace(/^OPENBLAS_NUM_THREADS=/, ''), args };
    });
  return { result, calls };
}

const flag = (args: string[], name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

describe('shell scripts', () => {
  it.each(scripts)('%s parses (bash -n)', (script) => {
    const r = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('pass shellcheck (every severity)', (ctx) => {
    if (!has('shellcheck'))
      ctx.skip('shellcheck is not installed (apt-get install shellcheck; .ci/run does)');
    const r = spawnSync('shellcheck', ['--severity=style', '--external-sources', ...scripts], {
      encoding: 'utf8',
      cwd: cluster,
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('slurm-array.sh', () => {
  const script = join(cluster, 'slurm-array.sh');

  /** Runs every task of an array whose ids are min..max by step, as Slurm would set them. */
  function runArray(min: number, max: number, step: number, extra: Record<string, string> = {}) {
    const ids: number[] = [];
    for (let id = min; id <= max; id += step) ids.push(id);
    return ids.map((id) => {
      const { result, calls } = runWithStubs([script, 'specs/sweep.yaml', 'out/sweep'], {
        SLURM_ARRAY_TASK_ID: String(id),
        SLURM_ARRAY_TASK_MIN: String(min),
        SLURM_ARRAY_TASK_MAX: String(max),
        SLURM_ARRAY_TASK_STEP: String(step),
        SLURM_ARRAY_TASK_COUNT: String(ids.length),
        SLURM_CPUS_PER_TASK: '8',
        ...extra,
      });
      expect(result.stderr).toContain('regimes shard');
      expect(result.status).toBe(0);
      expect(calls).toHaveLength(1);
      return calls[0]!;
    });
  }

  it.each([
    [1, 8, 1],
    [0, 7, 1],
    [0, 14, 2],
    [3, 3, 1],
    [1, 64, 1],
  ])('array %i-%i:%i runs each shard 1..N exactly once, with the same N', (min, max, step) => {
    const calls = runArray(min, max, step);
    const n = calls.length;
    const shards = calls.map((c) => flag(c.args, '--shard'));
    expect(shards).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}/${n}`));
    for (const c of calls) {
      expect(c.tool).toBe('regimes');
      expect(c.args.slice(0, 2)).toEqual(['run', 'specs/sweep.yaml']);
      expect(flag(c.args, '--out')).toBe('out/sweep');
      expect(flag(c.args, '--jobs')).toBe('8'); // one worker per CPU of the task ...
      expect(c.openblasThreads).toBe('1'); // ... and one OpenBLAS thread each
    }
  });

  it('splits the CPUs between REGIMES_JOBS workers and OpenBLAS threads; keeps a given OPENBLAS_NUM_THREADS', () => {
    const [split] = runArray(1, 1, 1, { REGIMES_JOBS: '2' });
    expect(flag(split!.args, '--jobs')).toBe('2');
    expect(split!.openblasThreads).toBe('4');
    const [given] = runArray(1, 1, 1, { OPENBLAS_NUM_THREADS: '3' });
    expect(given!.openblasThreads).toBe('3');
  });

  it('defaults RUN_DIR to runs/<spec file name>, and works without SLURM_ARRAY_TASK_COUNT (older Slurm)', () => {
    const { result, calls } = runWithStubs([script, 'examples/quickstart.yaml'], {
      SLURM_ARRAY_TASK_ID: '2',
      SLURM_ARRAY_TASK_MIN: '1',
      SLURM_ARRAY_TASK_MAX: '4',
    });
    expect(result.status).toBe(0);
    expect(flag(calls[0]!.args, '--out')).toBe('runs/quickstart');
    expect(flag(calls[0]!.args, '--shard')).toBe('2/4');
  });

  it('with REGIMES_SHARDS=N takes task ids as shard numbers (a rerun of some shards: --array=3,7)', () => {
    const shards = ['3', '7'].map((id) => {
      const { result, calls } = runWithStubs([script, 's.yaml', 'out'], {
        SLURM_ARRAY_TASK_ID: id,
        SLURM_ARRAY_TASK_MIN: '3',
        SLURM_ARRAY_TASK_MAX: '7',
        SLURM_ARRAY_TASK_COUNT: '2',
        REGIMES_SHARDS: '8',
      });
      expect(result.status).toBe(0);
      return flag(calls[0]!.args, '--shard');
    });
    expect(shards).toEqual(['3/8', '7/8']);
  });

  it.each([
    [
      'a list of ids, which is no range',
      { SLURM_ARRAY_TASK_COUNT: '3' },
      /not the range 1-8:1; set REGIMES_SHARDS/,
    ],
    [
      'an id off the step',
      { SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_ID: '4' },
      /not in the range 1-8:2/,
    ],
    ['an id past REGIMES_SHARDS', { REGIMES_SHARDS: '2' }, /outside 1\.\.2/],
    ['no array at all', { SLURM_ARRAY_TASK_ID: '' }, /not a Slurm array task/],
  ])('refuses %s, running nothing', (_what, env, message) => {
    const { result, calls } = runWithStubs([script, 's.yaml'], {
      SLURM_ARRAY_TASK_ID: '3',
      SLURM_ARRAY_TASK_MIN: '1',
      SLURM_ARRAY_TASK_MAX: '8',
      ...env,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(calls).toEqual([]);
  });

  it("passes regimes' exit status on (3: some rows failed)", () => {
    const { result } = runWithStubs([script, 's.yaml'], {
      SLURM_ARRAY_TASK_ID: '1',
      SLURM_ARRAY_TASK_MIN: '1',
      SLURM_ARRAY_TASK_MAX: '1',
      STUB_EXIT: '3',
    });
    expect(result.status).toBe(3);
  });

  it('runs regimes in the Apptainer image REGIMES_SIF when given', () => {
    const { result, calls } = runWithStubs([script, 's.yaml', 'out'], {
      SLURM_ARRAY_TASK_ID: '2',
      SLURM_ARRAY_TASK_MIN: '1',
      SLURM_ARRAY_TASK_MAX: '2',
      SLURM_CPUS_PER_TASK: '4',
      REGIMES_SIF: '/images/regimes.sif',
    });
    expect(result.status).toBe(0);
    expect(calls).toEqual([
      {
        tool: 'apptainer',
        openblasThreads: '1',
        args: [
          'exec',
          '/images/regimes.sif',
          'regimes',
          'run',
          's.yaml',
          '--shard',
          '2/2',
          '--out',
          'out',
          '--jobs',
          '4',
        ],
      },
    ]);
  });

  it('runs the real regimes of the checkout it is submitted from when none is on PATH (no stub)', () => {
    const dir = mkdtempSync(join(scratch, 'real-'));
    const spec = join(dir, 'tiny.yaml');
    writeFileSync(
      spec,
      'name: tiny\ntarget: { kind: hermite, d: 3, degree: 1 }\nlearners: [{ kind: rf, width: 8 }]\n' +
        'sweep: { n: [16, 32] }\ntest: { n: 32 }\n',
    );
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(SLURM_|REGIMES_|npm_)/.test(k)),
    );
    // PATH has node and the system's tools, not node_modules/.bin (where npm test puts regimes)
    const r = spawnSync('bash', [script, spec, join(dir, 'run')], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...base,
        PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
        SLURM_SUBMIT_DIR: repo,
        SLURM_ARRAY_TASK_ID: '2',
        SLURM_ARRAY_TASK_MIN: '1',
        SLURM_ARRAY_TASK_MAX: '2',
        SLURM_CPUS_PER_TASK: '1',
      },
    });
    expect(r.stderr).not.toContain('command not found');
    expect(r.status).toBe(0);
    const rows = read(join(dir, 'run', 'results.shard-2-of-2.jsonl'))
      .trim()
      .split('\n');
    expect(rows.map((l) => JSON.parse(l).cell.n)).toEqual([32]);
  });

  it('--merge SPEC RUN_DIR merges the folder with the spec', () => {
    const { result, calls } = runWithStubs([script, '--merge', 's.yaml', 'out/s']);
    expect(result.status).toBe(0);
    expect(calls.map((c) => c.args)).toEqual([['merge', 'out/s', '--spec', 's.yaml']]);
  });
});

describe('submit-slurm.sh', () => {
  it('submits an array of 1..N and a merge that depends on it with afterany, which merges the run folder', () => {
    const cwd = join(scratch, 'submit');
    mkdirSync(join(cwd, 'specs'), { recursive: true });
    writeFileSync(join(cwd, 'specs', 'sweep.yaml'), 'name: sweep\n');
    const submit = join(cluster, 'submit-slurm.sh');
    const { result, calls } = runWithStubs(
      [submit, 'specs/sweep.yaml', '5', '--', '--partition=cpu', '--time=00:20:00'],
      {},
      cwd,
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(existsSync(join(cwd, 'logs'))).toBe(true); // sbatch does not create --output's folder
    const [array, merge] = calls;
    expect(calls).toHaveLength(2);
    expect(array!.args).toEqual([
      '--parsable',
      '--array=1-5',
      '--export=ALL,REGIMES_SHARDS=5',
      '--partition=cpu',
      '--time=00:20:00',
      join(cluster, 'slurm-array.sh'),
      'specs/sweep.yaml',
      'runs/sweep',
    ]);
    expect(merge!.args).toContain('--dependency=afterany:4242'); // the job id of "4242;cluster"
    expect(result.stdout).toContain('merge job 4243');

    // The merge job's command, run as sbatch --wrap would (sh -c), merges runs/sweep.
    const wrap = merge!.args.find((a) => a.startsWith('--wrap='))!.slice('--wrap='.length);
    const merged = runWithStubs(['-c', wrap], {}, cwd);
    expect(merged.result.status).toBe(0);
    expect(merged.calls.map((c) => c.args)).toEqual([['merge', 'runs/sweep', '--spec', 'specs/sweep.yaml']]);
  });

  it('refuses a shard count that is not a positive number, submitting nothing', () => {
    const { result, calls } = runWithStubs([join(cluster, 'submit-slurm.sh'), 'x.yaml', '0']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/usage/);
    expect(calls).toEqual([]);
  });
});

describe('entrypoint.sh (the image entrypoint)', () => {
  const entrypoint = join(cluster, 'entrypoint.sh');
  const nproc = Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim());
  const cgroup = (files: Record<string, string>) => {
    const root = mkdtempSync(join(scratch, 'cgroup-'));
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(root, name, '..'), { recursive: true });
      writeFileSync(join(root, name), content);
    }
    return root;
  };
  const threads = (root: string, args: string[], env: Record<string, string> = {}) => {
    const { result, calls } = runWithStubs([entrypoint, ...args], { REGIMES_CGROUP_ROOT: root, ...env });
    expect(result.status).toBe(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args).toEqual(args); // passed on verbatim
    return Number(calls[0]!.openblasThreads);
  };

  it('gives OpenBLAS the usable CPUs over the --jobs workers: cpuset, cgroup v2 and v1 quotas', () => {
    const unlimited = cgroup({ 'cpu.max': 'max 100000\n' });
    expect(threads(unlimited, ['run', 'a spec.yaml'])).toBe(nproc);
    expect(threads(unlimited, ['run', 's.yaml', '--jobs', String(nproc)])).toBe(1);
    expect(threads(unlimited, ['run', 's.yaml', '--jobs=1000'])).toBe(1);
    const oneCpu = cgroup({ 'cpu.max': '100000 100000\n' });
    expect(threads(oneCpu, ['run', 's.yaml'])).toBe(1);
    const halfCpu = cgroup({ 'cpu/cpu.cfs_quota_us': '50000\n', 'cpu/cpu.cfs_period_us': '100000\n' });
    expect(threads(halfCpu, ['merge', 'runs/x'])).toBe(1);
  });

  it('keeps a given OPENBLAS_NUM_THREADS', () => {
    expect(threads(scratch, ['run', 's.yaml', '--jobs', '2'], { OPENBLAS_NUM_THREADS: '6' })).toBe(6);
  });
});

// ---------------------------------------------------------------------------------------------------
// Kubernetes

type Obj = Record<string, unknown>;
const manifest = (file: string) =>
  parseAllDocuments(read(join(cluster, file))).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Obj;
  });
const sweepDocs = manifest('k8s-indexed-job.yaml');
const mergeDocs = manifest('k8s-merge-job.yaml');
const byKind = (docs: Obj[], kind: string) => docs.filter((d) => d.kind === kind);
// Loose views of the objects for the structural checks (the schemas below check the types).
/* eslint-disable @typescript-eslint/no-explicit-any */
const sweep = byKind(sweepDocs, 'Job')[0] as any;
const mergeJob = byKind(mergeDocs, 'Job')[0] as any;
const pvc = byKind(sweepDocs, 'PersistentVolumeClaim')[0] as any;
const configMap = byKind(sweepDocs, 'ConfigMap')[0] as any;
/* eslint-enable @typescript-eslint/no-explicit-any */
const envOf = (container: { env: { name: string; value?: string }[] }) =>
  Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

describe('Kubernetes manifests', () => {
  it('hold a PVC, a ConfigMap and the sweep Job; a separate merge Job', () => {
    expect(sweepDocs.map((d) => d.kind)).toEqual(['PersistentVolumeClaim', 'ConfigMap', 'Job']);
    expect(mergeDocs.map((d) => d.kind)).toEqual(['Job']);
  });

  it("validate against Kubernetes' OpenAPI schemas (kubernetes-models)", () => {
    const models: Record<string, new (o: Obj) => { validate(): void }> = {
      Job,
      PersistentVolumeClaim,
      ConfigMap,
    } as never;
    for (const doc of [...sweepDocs, ...mergeDocs]) {
      const Model = models[doc.kind as string]!;
      expect(() => new Model(doc).validate(), `${doc.kind} ${JSON.stringify(doc.metadata)}`).not.toThrow();
    }
    // The validator does catch mistakes (else the check above proves nothing).
    const broken = structuredClone(sweep);
    broken.spec.completionMode = 'indexed';
    expect(() => new Job(broken).validate()).toThrow(/completionMode/);
  });

  it("decode into kubectl's typed objects without losing a field (kubectl set env --local, no server)", (ctx) => {
    if (!has('kubectl')) ctx.skip('kubectl is not installed: the typed decoding check is skipped');
    const kubeconfig = join(scratch, 'kubeconfig');
    writeFileSync(kubeconfig, '');
    const leaves = (v: unknown, path = ''): string[] =>
      v !== null && typeof v === 'object'
        ? Object.entries(v).flatMap(([k, x]) => leaves(x, `${path}/${k}`))
        : [path];
    for (const job of [sweep, mergeJob]) {
      // set env needs a pod template (so Jobs only) and decodes into the Go types of the API.
      const r = spawnSync('kubectl', ['set', 'env', '--local', '-f', '-', '-o', 'json', 'CHECKED=1'], {
        input: JSON.stringify(job),
        encoding: 'utf8',
        env: { ...process.env, KUBECONFIG: kubeconfig },
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const typed = JSON.parse(r.stdout) as Obj;
      const kept = new Set(leaves(typed));
      // An unknown or misplaced field would be dropped by the typed decoding.
      expect(leaves(job).filter((p) => !kept.has(p))).toEqual([]);
    }
  });

  it('the sweep is an Indexed Job whose shard argument uses JOB_COMPLETION_INDEX and N = completions', () => {
    expect(sweep.spec.completionMode).toBe('Indexed');
    const n = sweep.spec.completions as number;
    expect(sweep.spec.parallelism).toBeLessThanOrEqual(n);
    expect(sweep.spec.backoffLimitPerIndex).toBeGreaterThanOrEqual(1);
    const pod = sweep.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never'); // required by podFailurePolicy and per-index backoff
    const [container] = pod.containers;
    for (const rule of sweep.spec.podFailurePolicy.rules)
      if (rule.onExitCodes) expect(rule.onExitCodes.containerName).toBe(container.name);
    expect(container.command).toEqual(['bash', '-c']);
    const script = container.args[0] as string;
    expect(script).toContain('--shard "$((JOB_COMPLETION_INDEX + 1))/$SHARDS"');
    const env = envOf(container);
    expect(Number(env.SHARDS)).toBe(n);

    // Run the container's command for every index, as Kubernetes would: shards 1..N, each once.
    const cpus = container.env.find((e: { name: string }) => e.name === 'CPUS').valueFrom.resourceFieldRef;
    expect(cpus).toMatchObject({ containerName: container.name, resource: 'limits.cpu' });
    const cpuLimit = String(Math.ceil(Number(container.resources.limits.cpu)));
    const shards = Array.from({ length: n }, (_, index) => {
      const { result, calls } = runWithStubs(['-c', script], {
        ...env,
        CPUS: cpuLimit,
        JOB_COMPLETION_INDEX: String(index),
      });
      expect(result.status).toBe(0);
      expect(calls).toHaveLength(1);
      const [call] = calls;
      expect(call!.tool).toBe('regimes-entrypoint');
      expect(call!.args.slice(0, 2)).toEqual(['run', '/work/spec/spec.yaml']);
      expect(flag(call!.args, '--out')).toBe(`/work/runs/${env.RUN_NAME}`);
      expect(flag(call!.args, '--jobs')).toBe(cpuLimit);
      return flag(call!.args, '--shard');
    });
    expect(shards).toEqual(Array.from({ length: n }, (_, i) => `${i + 1}/${n}`));
  });

  it('share one ReadWriteMany claim at /work/runs, the spec ConfigMap and the image with the merge Job', () => {
    expect(pvc.spec.accessModes).toEqual(['ReadWriteMany']);
    for (const job of [sweep, mergeJob]) {
      const pod = job.spec.template.spec;
      const [container] = pod.containers;
      expect(container.image).toBe(sweep.spec.template.spec.containers[0].image);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      const volume = (mountPath: string) => {
        const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === mountPath);
        return pod.volumes.find((v: { name: string }) => v.name === mount.name);
      };
      expect(volume('/work/runs').persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
      expect(volume('/work/spec').configMap.name).toBe(configMap.metadata.name);
    }
    const runName = envOf(sweep.spec.template.spec.containers[0]).RUN_NAME;
    expect(mergeJob.spec.template.spec.containers[0].args).toEqual([
      'merge',
      `/work/runs/${runName}`,
      '--spec',
      '/work/spec/spec.yaml',
    ]);
  });

  it("the ConfigMap's spec is valid for `regimes validate`, and RUN_NAME is its name", (ctx) => {
    const cli = join(repo, 'packages', 'cli', 'dist', 'main.js');
    if (!existsSync(cli)) ctx.skip('the CLI is not built (npm run build): regimes validate is skipped');
    const spec = join(scratch, 'spec.yaml');
    writeFileSync(spec, configMap.data['spec.yaml']);
    const r = spawnSync(
      process.execPath,
      [join(repo, 'packages', 'cli', 'bin', 'regimes.js'), 'validate', spec],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stderr + r.stdout).toMatch(/valid/);
    expect(r.status).toBe(0);
    const name = /^name:\s*(\S+)/m.exec(configMap.data['spec.yaml'])![1];
    expect(envOf(sweep.spec.template.spec.containers[0]).RUN_NAME).toBe(name);
  });
});

// ---------------------------------------------------------------------------------------------------
// Docker

/** A .dockerignore pattern as a regular expression on context-relative paths (Go filepath.Match plus **). */
function dockerignorePattern(pattern: string): RegExp {
  const p = pattern.replace(/^\/+|\/+$/g, '');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      i++;
      if (p[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}(?:/.*)?$`); // a matched folder excludes all within
}

describe('Dockerfile', () => {
  const text = read(join(cluster, 'Dockerfile'));
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  const stageStarts = instructions.flatMap((inst, i) => (inst.getKeyword() === 'FROM' ? [i] : []));
  const stage = (k: number) => instructions.slice(stageStarts[k], stageStarts[k + 1] ?? instructions.length);
  const args = (inst: Instruction) => inst.getArguments().map((a) => a.getValue());
  const runs = (insts: Instruction[]) =>
    insts.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');

  it('has no problem for the dockerfile-utils linter (the parser of the VS Code Docker extension)', () => {
    expect(validateDockerfile(text, {})).toEqual([]);
    // It does report real mistakes.
    expect(validateDockerfile(`${text}\nCOPY --chmod 0755\nEXPOSE http\n`, {}).length).toBeGreaterThan(0);
  });

  it('builds on node:20-bookworm-slim: OpenBLAS and a C compiler, npm ci, the addon checked', () => {
    const base = dockerfile.getInitialARGs().find((a) => a.getProperty()?.getName() === 'BASE');
    expect(base?.getProperty()?.getValue()).toBe('node:20-bookworm-slim');
    expect(stageStarts).toHaveLength(2);
    expect(dockerfile.getFROMs().map((f) => f.getImage())).toEqual(['${BASE}', '${BASE}']);
    const build = runs(stage(0)).join('\n');
    for (const pkg of ['libopenblas-dev', 'gcc', 'libc6-dev']) expect(build).toContain(` ${pkg}`);
    expect(build).toMatch(/npm ci\b/);
    expect(build).toContain('test -f packages/backend-node/native/build/Release/regimes_blas.node');
    // the addon's build script, which npm ci's prepare runs
    expect(existsSync(join(repo, 'packages/backend-node/scripts/build-native.mjs'))).toBe(true);
  });

  it('runs as a non-root user, results in the volume /work/runs, entrypoint the copied script', () => {
    const final = stage(1);
    const last = (kw: string) => final.filter((i) => i.getKeyword() === kw).at(-1)!;
    expect(args(last('USER'))[0]).not.toMatch(/^(0|root)(:|$)/);
    expect(args(last('WORKDIR'))).toEqual(['/work']);
    expect(last('VOLUME').getArgumentsContent()).toContain('/work/runs');
    expect(runs(final).join('\n')).toContain('libopenblas0-pthread');
    const entrypoint = dockerfile.getENTRYPOINTs()[0]!;
    const target = JSON.parse(entrypoint.getArgumentsContent()!) as string[];
    const copy = final.find((i) => i.getKeyword() === 'COPY' && args(i).at(-1) === target[0]);
    expect(args(copy!)[0]).toBe('examples/cluster/entrypoint.sh');
    // The symlink that puts regimes on PATH points at the CLI's bin.
    expect(runs(final).join('\n')).toContain(
      'ln -s /opt/regimes/packages/cli/bin/regimes.js /usr/local/bin/regimes',
    );
    expect(existsSync(join(repo, 'packages/cli/bin/regimes.js'))).toBe(true);
  });

  it('gets every tracked file of the repository in its context (.dockerignore) and no build output', () => {
    const patterns = read(join(repo, '.dockerignore'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(patterns.some((p) => p.startsWith('!'))).toBe(false); // the matcher below has no exceptions
    const ignored = (path: string) => patterns.some((p) => dockerignorePattern(p).test(path));
    const tracked = spawnSync('git', ['ls-files'], { cwd: repo, encoding: 'utf8' });
    if (tracked.status === 0) expect(tracked.stdout.split('\n').filter((f) => f && ignored(f))).toEqual([]);
    for (const path of ['examples/cluster/entrypoint.sh', 'package-lock.json', 'packages/cli/bin/regimes.js'])
      expect(ignored(path), path).toBe(false);
    for (const path of [
      'node_modules/yaml/package.json',
      'packages/core/node_modules/x',
      'packages/core/dist/index.js',
      'packages/backend-node/native/build/Release/regimes_blas.node',
      'runs/quickstart/results.jsonl',
      '.git/HEAD',
    ])
      expect(ignored(path), path).toBe(true);
  });
});
