"""The numpy (float32) side of `npm run bench`: the same computations as bench/run.mjs.

Reads a JSON list of cases on stdin, prints one JSON object: {blas, numpy, results: {name: seconds}}.
Each timing is the best of `repeat` runs, like the Node side.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

try:
    from scipy.linalg import solve_triangular
except ImportError:  # numpy alone has no triangular solve: fall back to a general solve on L
    solve_triangular = None


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def relu_ntk(x):
    d = x.shape[1]
    rho = (x @ x.T) / d
    q = np.einsum("ij,ij->i", x, x) / d
    scale = np.sqrt(np.outer(q, q))
    cos = np.clip(rho / np.maximum(scale, 1e-12), -1, 1)
    theta = np.arccos(cos)
    sin = np.sqrt(np.maximum(1 - cos * cos, 0))
    value = scale * (sin + (np.pi - theta) * cos) / (2 * np.pi)
    return (value + (np.pi - theta) / (2 * np.pi) * rho).astype(np.float32)


def relu_ntk_block(a, b):
    """relu_ntk's rows a against the columns b (float32)."""
    d = a.shape[1]
    rho = (a @ b.T) / np.float32(d)
    qa = np.einsum("ij,ij->i", a, a) / np.float32(d)
    qb = np.einsum("ij,ij->i", b, b) / np.float32(d)
    value, slope = arccos_dual(qa, qb, rho)
    return value + slope * rho


def arccos_dual(qa, qb, c):
    """E[relu(u)relu(v)] and E[step(u)step(v)], float32 (Cho & Saul's arc-cosine kernels)."""
    scale = np.sqrt(np.outer(qa, qb))
    cos = np.clip(c / np.maximum(scale, np.float32(1e-12)), -1, 1)
    theta = np.arccos(cos)
    sin = np.sqrt(np.maximum(1 - cos * cos, 0))
    return scale * (sin + (np.pi - theta) * cos) / np.float32(2 * np.pi), (np.pi - theta) / np.float32(2 * np.pi)


def deep_relu_ntk(x, layers, w, s):
    """The NTK recursion of kernels.ts deepKernel for relu, all in float32 (NTK parametrization)."""
    d = x.shape[1]
    w, s = np.float32(w), np.float32(s)
    c = w * (x @ x.T) / np.float32(d) + s
    q = w * np.einsum("ij,ij->i", x, x) / np.float32(d) + s
    theta = c
    for layer in range(1, layers + 1):
        last = layer == layers
        value, slope = arccos_dual(q, q, c)
        c = w * value + (0 if last else s)
        theta = c + w * slope * theta
        q = w * q / 2 + (0 if last else s)  # E[relu(u)^2] = q/2
    return theta


def ridge_memory(n, d):
    """Kernel ridge (relu NTK, Cholesky at a fixed λ) in a process of its own: its peak RSS in GiB.

    The kernel is built in blocks of 1024 rows into one float32 array (whole-matrix numpy would hold
    several n x n temporaries); np.linalg.cholesky then makes its copy. None if the process fails
    (out of memory)."""
    import subprocess

    code = f"""
import resource, sys
sys.dont_write_bytecode = True
sys.path.insert(0, {json.dumps(__file__.rsplit("/", 1)[0])})
import numpy as np
from numpy_bench import relu_ntk_block, solve_spd
rng = np.random.default_rng(0)
x = rng.standard_normal(({n}, {d}), dtype=np.float32)
y = rng.standard_normal(({n}, 1), dtype=np.float32)
k = np.empty(({n}, {n}), dtype=np.float32)
for s in range(0, {n}, 1024):
    k[s:s + 1024] = relu_ntk_block(x[s:s + 1024], x)
k[np.diag_indices({n})] += np.float32({n} * 1e-3)
solve_spd(k, y)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return int(out.stdout.strip().splitlines()[-1]) * 1024 / 2**30


def solve_spd(a, b):
    l = np.linalg.cholesky(a)
    if solve_triangular is not None:
        z = solve_triangular(l, b, lower=True, check_finite=False)
        return solve_triangular(l.T, z, lower=False, check_finite=False)
    return np.linalg.solve(l.T, np.linalg.solve(l, b))


def run(case):
    rng = np.random.default_rng(0)
    kind, repeat = case["kind"], case.get("repeat", 1)
    if kind == "gemm":
        n = case["n"]
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        a @ b  # one product first, untimed, as bench/run.mjs does (OpenBLAS starts its threads)
        return best_of(lambda: a @ b, repeat)
    if kind == "kernel-build":
        x = rng.standard_normal((case["n"], case["d"]), dtype=np.float32)
        return best_of(lambda: relu_ntk(x), repeat)
    if kind == "deep-kernel-build":
        x = rng.standard_normal((case["n"], case["d"]), dtype=np.float32)
        return best_of(lambda: deep_relu_ntk(x, case["layers"], case["weightVariance"], case["biasVariance"]), repeat)
    if kind == "ridge-memory":
        return ridge_memory(case["n"], case["d"])
    if kind == "kernel-solve":
        n = case["n"]
        x = rng.standard_normal((n, case["d"]), dtype=np.float32)
        k = relu_ntk(x)
        k[np.diag_indices(n)] += np.float32(n * 1e-3)
        y = rng.standard_normal((n, 1), dtype=np.float32)
        return best_of(lambda: solve_spd(k, y), repeat)
    if kind in ("ridge-eigen", "ridge-cholesky"):
        # kernel built, then for each λ the coefficients and df (the diagonal of the inverse too on
        # the eigen side, as in RidgeCV); np.linalg.eigh on float32 is LAPACK ssyevd
        n = case["n"]
        x = rng.standard_normal((n, case["d"]), dtype=np.float32)
        y = rng.standard_normal((n, 1), dtype=np.float32)
        shifts = [np.float32(n * lam) for lam in case["lambdas"]]

        def eigen():
            mu, q = np.linalg.eigh(relu_ntk(x))
            qty = q.T @ y
            squared = q * q
            for s in shifts:
                w = 1 / (mu + s)
                q @ (qty * w[:, None])
                np.sum(mu * w)
                squared @ w

        def cholesky():
            k = relu_ntk(x)
            for s in shifts:
                a = k.copy()
                a[np.diag_indices(n)] += s
                solve_spd(a, y)

        return best_of(eigen if kind == "ridge-eigen" else cholesky, repeat)
    if kind in ("rf-fit", "rf-fit-gcv"):
        n, d, width = case["n"], case["d"], case["width"]
        x = rng.standard_normal((n, d), dtype=np.float32)
        y = rng.standard_normal((n, 1), dtype=np.float32)
        w = rng.standard_normal((width, d), dtype=np.float32)
        w /= np.linalg.norm(w, axis=1, keepdims=True)

        def fit():
            phi = np.maximum(x @ w.T, 0) / np.float32(np.sqrt(width))
            g = phi.T @ phi
            g[np.diag_indices(width)] += np.float32(n * 1e-3)
            return solve_spd(g, phi.T @ y)

        def fit_gcv():
            # generalized cross-validation over the grid from one eigen-decomposition of the Gram
            # (float32 ssyevd): df = Σ μ/(μ+nλ), residual from the projections, the best λ's weights
            phi = np.maximum(x @ w.T, 0) / np.float32(np.sqrt(width))
            mu, q = np.linalg.eigh(phi.T @ phi)
            b = q.T @ (phi.T @ y)
            yy = float((y * y).sum())
            best = None
            for lam in case["lambdas"]:
                shrink = 1 / (mu + np.float32(n * lam))
                coef = b[:, 0] * shrink
                residual = yy - 2 * float(b[:, 0] @ coef) + float((mu * coef) @ coef)
                df = float(np.sum(mu * shrink))
                score = residual / n / (1 - df / n) ** 2
                if best is None or score < best[0]:
                    best = (score, shrink)
            return q @ (b * best[1][:, None])

        return best_of(fit_gcv if kind == "rf-fit-gcv" else fit, repeat)
    if kind == "rf-e2e":
        # the whole script in its own process, as bench/run.mjs times `regimes run`
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rf_ridge_e2e.py")
        args = [sys.executable, script, case["mode"]] + [str(case[k]) for k in ("n", "d", "width", "testN")]
        return best_of(lambda: subprocess.run(args, check=True, stdout=subprocess.DEVNULL), repeat)
    if kind == "train-step":
        n, d, width = case["n"], case["d"], case["width"]
        x = rng.standard_normal((n, d), dtype=np.float32)
        y = rng.standard_normal((n, 1), dtype=np.float32)
        state = {
            "w": rng.standard_normal((width, d), dtype=np.float32) / np.float32(np.sqrt(d)),
            "a": rng.standard_normal((width, 1), dtype=np.float32),
        }
        s = np.float32(1 / np.sqrt(width))

        def step():
            w, a = state["w"], state["a"]
            z = x @ w.T
            h = np.maximum(z, 0)
            f = (h @ a) * s
            slope = (f - y) * np.float32(2 / n)
            da = (h.T @ slope) * s
            dz = ((slope @ a.T) * s) * (z > 0)
            dw = dz.T @ x
            state["w"] = w - np.float32(0.1) * dw
            state["a"] = a - np.float32(0.1) * da

        step()
        return best_of(step, repeat)
    raise ValueError(kind)


def blas_name():
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy
        return "unknown"


if __name__ == "__main__":
    cases = json.load(sys.stdin)
    print(json.dumps({"blas": blas_name(), "numpy": np.__version__, "results": {c["name"]: run(c) for c in cases}}))
