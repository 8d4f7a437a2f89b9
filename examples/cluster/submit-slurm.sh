#!/usr/bin/env bash
# Submits a sharded regimes sweep to Slurm: an array of N tasks (slurm-array.sh, one shard each), then a
# merge job that starts when they have all ended, failed or not (afterany), writes RUN_DIR/results.jsonl
# and lists any missing cells in its log.
#   examples/cluster/submit-slurm.sh SPEC N [RUN_DIR] [-- SBATCH_OPTIONS...]
# e.g. examples/cluster/submit-slurm.sh examples/quickstart.yaml 4 -- --partition=cpu --time=00:20:00
# SBATCH_OPTIONS (--partition, --account, --cpus-per-task, --mem, --time, ...) apply to the array and
# override slurm-array.sh's #SBATCH lines. Run it from the directory that logs/ and runs/ go in (on a
# shared file system); REGIMES_SIF, REGIMES_HOME, REGIMES_JOBS and REGIMES_BACKEND are passed to the jobs.
set -euo pipefail

usage() {
  echo "usage: submit-slurm.sh SPEC N [RUN_DIR] [-- SBATCH_OPTIONS...]" >&2
  exit 1
}

(($# >= 2)) || usage
spec=$1
shards=$2
shift 2
[[ $shards =~ ^[1-9][0-9]*$ ]] || usage
run_dir=runs/$(basename "${spec%.*}")
if (($# > 0)) && [[ $1 != -- ]]; then
  run_dir=$1
  shift
fi
if (($# > 0)); then
  [[ $1 == -- ]] || usage
  shift
fi
[[ -f $spec ]] || {
  echo "submit-slurm.sh: no spec at $spec" >&2
  exit 1
}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

mkdir -p logs "$run_dir"
# --parsable prints "jobid" or "jobid;cluster". REGIMES_SHARDS makes a later partial rerun
# (sbatch --array=3,7 with REGIMES_SHARDS=N) use the same numbering.
array_job=$(sbatch --parsable --array="1-$shards" --export="ALL,REGIMES_SHARDS=$shards" "$@" \
  "$here/slurm-array.sh" "$spec" "$run_dir")
array_job=${array_job%%;*}
merge_job=$(sbatch --parsable --dependency="afterany:$array_job" --job-name=regimes-merge \
  --cpus-per-task=1 --mem=4G --time=00:30:00 --output=logs/%x-%j.out --export=ALL \
  --wrap="$(printf '%q ' bash "$here/slurm-array.sh" --merge "$spec" "$run_dir")")
merge_job=${merge_job%%;*}
echo "array job $array_job: $shards shards of $spec into $run_dir (logs/regimes-${array_job}_<task>.out)"
echo "merge job $merge_job: $run_dir/results.jsonl once the array has ended (logs/regimes-merge-$merge_job.out)"
