#!/usr/bin/env bash
# Entrypoint of the regimes image: `regimes-entrypoint ARGS...` runs `regimes ARGS...` after setting
# OPENBLAS_NUM_THREADS, unless it is already set, to the CPUs this container may use divided among the
# worker processes of `--jobs K` (at least 1 thread each). OpenBLAS would otherwise start one thread per
# core of the host in every worker, far more than a CPU limit allows.
set -euo pipefail

# CPUs usable here: the cpuset (nproc: docker --cpuset-cpus, Slurm) capped by a CFS quota (docker --cpus,
# Kubernetes limits.cpu), read from cgroup v2's cpu.max or cgroup v1's cpu.cfs_quota_us.
usable_cpus() {
  local root=${REGIMES_CGROUP_ROOT:-/sys/fs/cgroup} cpus quota=max period=100000
  cpus=$(nproc)
  if [[ -r $root/cpu.max ]]; then
    read -r quota period <"$root/cpu.max"
  elif [[ -r $root/cpu/cpu.cfs_quota_us && -r $root/cpu/cpu.cfs_period_us ]]; then
    quota=$(<"$root/cpu/cpu.cfs_quota_us")
    period=$(<"$root/cpu/cpu.cfs_period_us")
  fi
  if [[ $quota =~ ^[0-9]+$ && $period =~ ^[1-9][0-9]*$ ]] && ((quota / period < cpus)); then
    cpus=$((quota / period > 0 ? quota / period : 1))
  fi
  echo "$cpus"
}

# The value of --jobs K or --jobs=K among the arguments, else 1.
worker_processes() {
  local jobs=1 previous=''
  for arg in "$@"; do
    [[ $previous == --jobs ]] && jobs=$arg
    [[ $arg == --jobs=* ]] && jobs=${arg#--jobs=}
    previous=$arg
  done
  [[ $jobs =~ ^[1-9][0-9]*$ ]] || jobs=1
  echo "$jobs"
}

if [[ -z ${OPENBLAS_NUM_THREADS:-} ]]; then
  cpus=$(usable_cpus)
  jobs=$(worker_processes "$@")
  OPENBLAS_NUM_THREADS=$((cpus / jobs > 0 ? cpus / jobs : 1))
  export OPENBLAS_NUM_THREADS
fi
exec regimes "$@"
