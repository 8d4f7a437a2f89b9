#!/usr/bin/env bash
# On the GPU machine, from the repository's root there, with .device/ beside it (bench/device/pack.sh):
#
#   bash .device/run.sh [--quick] [--only 'GEMM|training step'] [--limit SECONDS] [--backends 'webgpu native'] [--no-torch]
#                       [--profile]  (then bench/device/profile.mjs on each backend: the ntk fit's and the
#                                    training step's time step by step, appended to bench-<backend>.txt)
#
# REGIMES_WEBGPU_DIAGONAL_BLOCK=tiles in front runs webgpu with the tiled diagonal-block program
# (packages/backend-webgpu/src/block-cholesky.ts); machine.txt names the program.
#
# Results land under $OUT (else ./device-out): machine.txt, backends.txt, torch.txt (the same work in
# PyTorch on CUDA, where the machine's python3 has it: the hardware's reference, bench/device/torch_ref.py),
# bench-<backend>.txt (each case's line as it finishes, then the table), bench-<backend>.json and
# log.txt: 8 files, the device tool's limit.
#
# Unpacks Node.js and the packed files into /tmp/regimes-device ($REGIMES_DEVICE_WORK), installs the Vulkan loader from the packed Debian
# packages, then runs bench/run.mjs on `webgpu` and on `native` (the CPU default, on all cores) and
# copies each table and JSON to $OUT. numpy's side is the machine's own python3. Nothing is fetched.
# Each backend's bench gets at most --limit seconds (default 270), so that one slow backend leaves
# time for the other inside the device tool's 10 minutes a command.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$PWD/device-out}"
mkdir -p "$out"
only='GEMM|NTK kernel build|Cholesky + solve|ntk learner fit|training step|RF fit N=4096 n=8192 d=64 (λ fixed)'
args=()
limit=270
backends='webgpu native'
torch=1
profile=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) args+=(--quick) ;;
    --only) only="$2"; shift ;;
    --limit) limit="$2"; shift ;;
    --backends) backends="$2"; shift ;;
    --no-torch) torch=0 ;;
    --profile) profile=1 ;;
    *) echo "run.sh: unknown argument $1 (--quick, --only PATTERN, --limit SECONDS, --backends LIST, --no-torch, --profile)" >&2; exit 2 ;;
  esac
  shift
done

work="${REGIMES_DEVICE_WORK:-/tmp/regimes-device}"
rm -rf "$work" && mkdir -p "$work/repo" "$work/bin"
unxz() { # xz where the machine has it, else Python's lzma
  if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}
for part in node.xz files.tar.xz lib.tar.xz; do
  [ -f "$here/$part" ] || { echo "run.sh: $here/$part is missing: run bash bench/device/pack.sh on the development machine and carry .device" >&2; exit 1; }
done
unxz "$here/node.xz" >"$work/bin/node" || { echo 'could not unpack node.xz' >&2; exit 1; }
chmod +x "$work/bin/node"
unxz "$here/files.tar.xz" | tar xf - -C "$work/repo" || { echo 'could not unpack files.tar.xz' >&2; exit 1; }
unxz "$here/lib.tar.xz" | tar xf - -C "$work" || { echo 'could not unpack lib.tar.xz' >&2; exit 1; }
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in "$here"/debs/*.deb; do if [ -f "$f" ]; then dpkg -x "$f" /; fi; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
export PATH="$work/bin:$PATH" LD_LIBRARY_PATH="$work/lib:${LD_LIBRARY_PATH:-}"

{
  date -u
  node --version
  nproc
  grep -m4 -E '^(vendor_id|cpu family|model|model name)\s*:' /proc/cpuinfo
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  python3 -c 'import numpy; print("numpy", numpy.__version__)'
  echo "webgpu diagonal-block program: ${REGIMES_WEBGPU_DIAGONAL_BLOCK:-rows} (REGIMES_WEBGPU_DIAGONAL_BLOCK)"
} | tee "$out/machine.txt"

# PyTorch on CUDA first (about 20 s): what cuBLAS and cuSOLVER do with the same work on this GPU
if [ "$torch" = 1 ] && [ -f "$here/torch_ref.py" ]; then
  timeout 120 python3 "$here/torch_ref.py" 2>&1 | tee "$out/torch.txt"
fi

cd "$work/repo" || exit 1
node packages/cli/bin/regimes.js backends 2>&1 | tee "$out/backends.txt"
status=0
for backend in $backends; do
  echo "== bench on $backend" | tee -a "$out/log.txt"
  rm -f bench-results/bench.json
  timeout "$limit" node bench/run.mjs --backend "$backend" --no-sweep --only "$only" "${args[@]}" 2>&1 |
    tee "$out/bench-$backend.txt" | grep -v '^Warning:'
  rc=${PIPESTATUS[0]}
  # the JSON is written when the cases are done, also when some failed (their errors are in it)
  [ -f bench-results/bench.json ] && cp bench-results/bench.json "$out/bench-$backend.json"
  if [ "$rc" -ne 0 ]; then
    if [ "$rc" -eq 124 ]; then why="passed its $limit s"; else why="exited with status $rc"; fi
    echo "bench on $backend $why; its lines so far are in bench-$backend.txt" | tee -a "$out/log.txt"
    status=1
  fi
  if [ "$profile" = 1 ]; then
    echo "== profile on $backend" | tee -a "$out/log.txt" "$out/bench-$backend.txt"
    timeout "$limit" node bench/device/profile.mjs --backend "$backend" 2>&1 | grep -v '^Warning:' |
      tee -a "$out/bench-$backend.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "profile on $backend failed or passed its $limit s" | tee -a "$out/log.txt"; status=1; }
  fi
done
exit $status
