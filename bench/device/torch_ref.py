"""A reference for the GPU figures of bench/device/run.sh: the bench's computations in PyTorch on CUDA.

Not regimes' code: what the same GPU does with cuBLAS and cuSOLVER (float32, TF32 off), so that the
webgpu figures beside it read against the hardware, not only against the CPU. Same sizes and the same
formulas as bench/numpy_bench.py (relu NTK of both layers, Cholesky + two triangular solves, one
full-batch step of a two-layer relu net); each figure the best of its repeats, after a warm-up run,
with the device synchronized before the clock stops. Prints one line per case, then a JSON object.
Skips itself (exit 0, one line) where torch or a CUDA device is missing. REGIMES_TORCH_DEVICE=cpu runs
it on the CPU instead (to check the script where no GPU is).
"""
import json
import math
import os
import sys
import time

try:
    import torch
except ImportError:
    print("torch reference skipped: no torch in this python3")
    sys.exit(0)
dev = torch.device(os.environ.get("REGIMES_TORCH_DEVICE", "cuda"))
if dev.type == "cuda" and not torch.cuda.is_available():
    print("torch reference skipped: torch sees no CUDA device")
    sys.exit(0)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()
gen = torch.Generator(device=dev).manual_seed(0)


def normal(*shape):
    return torch.randn(*shape, generator=gen, device=dev, dtype=torch.float32)


def best_of(fn, repeat):
    fn()  # warm-up: kernels loaded, workspaces allocated
    sync()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def relu_ntk(a, b):
    d = a.shape[1]
    rho = (a @ b.T) / d
    qa = (a * a).sum(1) / d
    qb = (b * b).sum(1) / d
    scale = torch.sqrt(torch.outer(qa, qb))
    cos = torch.clamp(rho / torch.clamp(scale, min=1e-12), -1, 1)
    theta = torch.arccos(cos)
    sin = torch.sqrt(torch.clamp(1 - cos * cos, min=0))
    value = scale * (sin + (math.pi - theta) * cos) / (2 * math.pi)
    return value + (math.pi - theta) / (2 * math.pi) * rho


def kernel_panels(x, rows=256):
    """The kernel in panels of 256 rows, as the bench's kernel build (each panel made, then freed)."""
    for s in range(0, x.shape[0], rows):
        relu_ntk(x[s : s + rows], x)


def solve(k, y, shift):
    a = k + shift * torch.eye(k.shape[0], device=dev)
    l = torch.linalg.cholesky(a)
    z = torch.linalg.solve_triangular(l, y, upper=False)
    return torch.linalg.solve_triangular(l.T, z, upper=True)


results = {}


def record(name, seconds, flops=None):
    results[name] = seconds
    extra = f"  ({flops / seconds / 1e9:.0f} GFLOP/s)" if flops else ""
    print(f"{name}: {seconds:.4f} s{extra}", flush=True)


for n in (256, 1024, 2048):
    a, b = normal(n, n), normal(n, n)
    record(f"GEMM {n}² float32", best_of(lambda: a @ b, 5), 2 * n**3)

n, d = 8192, 64
x, y = normal(n, d), normal(n, 1)
record(f"NTK kernel build n={n} d={d}", best_of(lambda: kernel_panels(x), 3))
k = relu_ntk(x, x)
record(f"Cholesky + solve n={n} (NTK + nλI)", best_of(lambda: solve(k, y, n * 1e-3), 3))
del k
record(f"kernel ridge n={n} d={d} (kernel, Cholesky, solve; λ fixed)", best_of(lambda: solve(relu_ntk(x, x), y, n * 1e-3), 3))

n, d, width = 4096, 256, 1024
x, y = normal(n, d), normal(n, 1)
state = {"w": normal(width, d) / math.sqrt(d), "a": normal(width, 1)}
s = 1 / math.sqrt(width)


def step():
    w, a = state["w"], state["a"]
    z = x @ w.T
    h = torch.relu(z)
    f = (h @ a) * s
    slope = (f - y) * (2 / n)
    da = (h.T @ slope) * s
    dz = ((slope @ a.T) * s) * (z > 0)
    dw = dz.T @ x
    state["w"] = w - 0.1 * dw
    state["a"] = a - 0.1 * da


record(f"two-layer training step n={n} d={d} width={width}", best_of(step, 5))
name = torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"
print(json.dumps({"torch": torch.__version__, "device": name, "results": results}))
