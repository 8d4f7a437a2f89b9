#!/usr/bin/env bash
#SBATCH --job-name=regimes
#SBATCH --array=1-8
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=logs/%x-%A_%a.out
#
# One shard of a regimes sweep per Slurm array task (submit-slurm.sh also queues the merge):
#   mkdir -p logs && sbatch [--array=1-N] examples/cluster/slurm-array.sh SPEC [RUN_DIR]
# Task i of N writes RUN_DIR/results.shard-i-of-N.jsonl (RUN_DIR defaults to runs/<spec file name>); a
# rerun of a task resumes it. The shard is the task's place in the array's range of ids (1-8, 0-7 and
# 0-14:2 all give 8 shards). To rerun some shards only (--array=3,7), set REGIMES_SHARDS=N: the task ids
# are then the shard numbers, 1 to N.
#   bash examples/cluster/slurm-array.sh --merge SPEC RUN_DIR   merges the shards into RUN_DIR/results.jsonl
#
# Environment:
#   REGIMES_SIF   an Apptainer/Singularity image built from the Dockerfile: regimes runs in it. The spec and
#                 RUN_DIR must be visible inside: under the submit directory, or bound with APPTAINER_BIND.
#   REGIMES_HOME  else: a checkout of regimes after npm ci (default: `regimes` on PATH, else the submit directory)
#   REGIMES_JOBS  worker processes (default: the task's CPUs); OPENBLAS_NUM_THREADS defaults to CPUs / workers
#   REGIMES_BACKEND and the rest of regimes' environment pass through.
set -euo pipefail

die() {
  echo "slurm-array.sh: $*" >&2
  exit 1
}

regimes() {
  if [[ -n ${REGIMES_SIF:-} ]]; then
    local runtime
    runtime=$(command -v apptainer || command -v singularity) ||
      die "REGIMES_SIF is set but neither apptainer nor singularity is on PATH"
    "$runtime" exec "$REGIMES_SIF" regimes "$@"
  elif [[ -n ${REGIMES_HOME:-} ]]; then
    node "$REGIMES_HOME/packages/cli/bin/regimes.js" "$@"
  elif type -P regimes >/dev/null; then
    # type -P looks on PATH only: `command -v` would find this very function
    command regimes "$@"
  else
    local home=${SLURM_SUBMIT_DIR:-$PWD}
    [[ -f $home/packages/cli/bin/regimes.js ]] ||
      die "regimes not found: set REGIMES_SIF or REGIMES_HOME, put regimes on PATH, or submit from a checkout"
    node "$home/packages/cli/bin/regimes.js" "$@"
  fi
}

is_count() { [[ $1 =~ ^[0-9]+$ ]]; }
is_positive() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

# Sets shard and shards (1 <= shard <= shards) from the array task's environment.
find_shard() {
  local id=${SLURM_ARRAY_TASK_ID:-}
  is_count "$id" || die "not a Slurm array task (no SLURM_ARRAY_TASK_ID): submit with sbatch --array=1-N"
  if [[ -n ${REGIMES_SHARDS:-} ]]; then
    is_positive "$REGIMES_SHARDS" || die "REGIMES_SHARDS=$REGIMES_SHARDS is not a positive number"
    shards=$REGIMES_SHARDS
    shard=$id
  else
    local min=${SLURM_ARRAY_TASK_MIN:-} max=${SLURM_ARRAY_TASK_MAX:-} step=${SLURM_ARRAY_TASK_STEP:-1}
    if ! is_count "$min" || ! is_count "$max" || ! is_positive "$step"; then
      die "SLURM_ARRAY_TASK_MIN/MAX/STEP missing or not numbers: set REGIMES_SHARDS=N and use task ids 1..N"
    fi
    ((id >= min && id <= max && (id - min) % step == 0)) ||
      die "task id $id is not in the range $min-$max:$step"
    shards=$(((max - min) / step + 1))
    shard=$(((id - min) / step + 1))
    # A list of ids (--array=1,3,8) is no range: its count differs (SLURM_ARRAY_TASK_COUNT, Slurm >= 18.08).
    if [[ -n ${SLURM_ARRAY_TASK_COUNT:-} ]] && ((SLURM_ARRAY_TASK_COUNT != shards)); then
      die "the array's $SLURM_ARRAY_TASK_COUNT task ids are not the range $min-$max:$step; set REGIMES_SHARDS=N (task ids = shard numbers)"
    fi
  fi
  ((shard >= 1 && shard <= shards)) || die "shard $shard is outside 1..$shards (task id $id)"
}

if [[ ${1:-} == --merge ]]; then
  (($# == 3)) || die "usage: slurm-array.sh --merge SPEC RUN_DIR"
  # Exit 3 when cells are missing: the merge's log lists them; rerun those shards, then merge again.
  regimes merge "$3" --spec "$2"
  exit
fi

(($# >= 1 && $# <= 2)) || die "usage: sbatch slurm-array.sh SPEC [RUN_DIR]"
spec=$1
run_dir=${2:-runs/$(basename "${spec%.*}")}
find_shard
cpus=${SLURM_CPUS_PER_TASK:-1}
jobs=${REGIMES_JOBS:-$cpus}
is_positive "$jobs" || die "REGIMES_JOBS=$jobs is not a positive number"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$((cpus / jobs > 0 ? cpus / jobs : 1))}
echo "regimes shard $shard/$shards of $spec on ${HOSTNAME:-?}: $jobs worker(s) x $OPENBLAS_NUM_THREADS OpenBLAS thread(s) -> $run_dir" >&2
# Exit 3 (some rows error/diverged) marks the task FAILED in sacct; the merge runs all the same.
regimes run "$spec" --shard "$shard/$shards" --out "$run_dir" --jobs "$jobs"
