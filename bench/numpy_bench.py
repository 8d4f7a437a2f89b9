"""The numpy (float32) side of `npm run bench`: the same computations as bench/run.mjs.

    python3 numpy_bench.py           reads a JSON list of cases on stdin, prints one JSON object:
                                     {blas, numpy, results: {name: seconds}}
    python3 numpy_bench.py --serve   prints {blas, numpy} on a line, then answers each case given as a
                                     JSON line on stdin with a line {cold, warm}: bench/run.mjs asks
                                     for each case right after its own, so both sides see the same
                                     minutes of this VM's drifting speed

Each timing is the best of `repeat` runs, like the Node side; served, a case runs twice (`cold`
first, then `warm`, which the table compares), as the Node side runs each of its cases twice.

Same work on both sides (a helper's audit, 2026-12-07, found the cases below unequal and fixed here):
the kernels are built as regimes builds them, as lower-triangle column panels of 256 (numpy had
built the whole n x n matrix from whole-matrix temporaries, about twice the work); the Cholesky
factors in place with LAPACK's spotrf and solves with spotrs through scipy where it is installed
(np.linalg.cholesky copies the matrix into fresh pages: 0.175 s against spotrf's 0.037 s at
n = 2048), else numpy's; the ridge fits compute what the learners compute (the intercept's centring,
one refinement step, df from the factor, the train risk), and the eigen-decompositions run in
float64, as regimes' (LAPACK dsyevd on a float64 copy of the float32 matrix).
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

try:
    from scipy.linalg import solve_triangular
    from scipy.linalg.blas import ssymm
    from scipy.linalg.lapack import spotrf, spotrs, strtri
except ImportError:  # numpy alone has no triangular solve: fall back to a general solve on L
    solve_triangular = spotrf = spotrs = ssymm = strtri = None

PANEL = 256  # the column panels of regimes' kernelPanels


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


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


def deep_relu_ntk_block(a, b, layers, w, s):
    """deep_relu_ntk's rows a against the columns b (float32)."""
    d = a.shape[1]
    w, s = np.float32(w), np.float32(s)
    c = w * (a @ b.T) / np.float32(d) + s
    qa = w * np.einsum("ij,ij->i", a, a) / np.float32(d) + s
    qb = w * np.einsum("ij,ij->i", b, b) / np.float32(d) + s
    theta = c
    for layer in range(1, layers + 1):
        last = layer == layers
        value, slope = arccos_dual(qa, qb, c)
        c = w * value + (0 if last else s)
        theta = c + w * slope * theta
        qa = w * qa / 2 + (0 if last else s)
        qb = w * qb / 2 + (0 if last else s)
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


def timed(prepare, fn, repeat):
    """Best of `repeat` runs of fn(prepare()), prepare untimed (a fresh copy for an in-place factor)."""
    times = []
    for _ in range(repeat):
        arg = prepare()
        t0 = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t0)
    return min(times)


def lower_panels(block, n, out=None):
    """block(s, e)'s lower-triangle panels [s:, s:e] by 256 columns, into `out` (Fortran order) or dropped."""
    for s in range(0, n, PANEL):
        e = min(n, s + PANEL)
        p = block(s, e)
        if out is not None:
            out[s:, s:e] = p
    return out


def ntk_matrix(x):
    """The relu NTK's lower triangle (the upper left as allocated), Fortran order, as LAPACK reads it."""
    n = x.shape[0]
    out = np.empty((n, n), dtype=np.float32, order="F")
    return lower_panels(lambda s, e: relu_ntk_block(x[s:], x[s:e]), n, out)


def factor(a):
    """The lower Cholesky factor of a (Fortran order, lower triangle read), in place where scipy is."""
    if spotrf is not None:
        c, info = spotrf(a, lower=1, overwrite_a=1, clean=0)
        if info != 0:
            raise ValueError(f"spotrf: info {info}")
        return c
    return np.linalg.cholesky(np.tril(a) + np.tril(a, -1).T)


def solve_factor(c, b):
    if spotrs is not None:
        x, info = spotrs(c, b, lower=1)
        return x
    return np.linalg.solve(c.T, np.linalg.solve(c, b))


def symmetric_product(a, x):
    """A x from A's lower triangle (regimes' refinement product)."""
    if spotrf is not None:
        return ssymm(1.0, a, x, lower=1)
    low = np.tril(a)
    return low @ x + low.T @ x - np.diag(a)[:, None] * x


def inverse_trace(c):
    """tr(A⁻¹) = ‖L⁻¹‖²_F from the factor (regimes: diag(A⁻¹) from L⁻¹, another n³/3)."""
    if spotrf is not None:
        inv, info = strtri(c, lower=1)
        return float(np.sum(np.square(np.tril(inv)), dtype=np.float64))
    inv = np.linalg.inv(np.tril(c))
    return float(np.sum(np.square(inv), dtype=np.float64))


def ridge_solve(a_lower, rhs, shift):
    """(A + shift I) x = rhs as regimes solves one λ: factor, solve, one refinement step, df's trace."""
    a = np.array(a_lower, order="F")
    a[np.diag_indices(a.shape[0])] += np.float32(shift)
    c = factor(a)
    x = solve_factor(c, rhs)
    residual = rhs - (symmetric_product(a_lower, x) + np.float32(shift) * x)
    x = x + solve_factor(c, residual)
    return x, a.shape[0] - shift * inverse_trace(c)


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
        return best_of(lambda: lower_panels(lambda s, e: relu_ntk_block(x[s:], x[s:e]), len(x)), repeat)
    if kind == "deep-kernel-build":
        x = rng.standard_normal((case["n"], case["d"]), dtype=np.float32)
        spec = (case["layers"], case["weightVariance"], case["biasVariance"])
        return best_of(lambda: lower_panels(lambda s, e: deep_relu_ntk_block(x[s:], x[s:e], *spec), len(x)), repeat)
    if kind == "ridge-memory":
        return ridge_memory(case["n"], case["d"])
    if kind == "kernel-solve":
        # the kernel built beforehand on both sides; a fresh copy per run (the factor overwrites it)
        n = case["n"]
        x = rng.standard_normal((n, case["d"]), dtype=np.float32)
        k = ntk_matrix(x)
        k[np.diag_indices(n)] += np.float32(n * 1e-3)
        y = rng.standard_normal((n, 1), dtype=np.float32)
        return timed(lambda: np.array(k, order="F"), lambda a: solve_factor(factor(a), y), repeat)
    if kind in ("ridge-eigen", "ridge-cholesky"):
        # the kernel built, then for each λ what fitRidge computes for a list of λ: the coefficients,
        # one refinement step, df and the train risk (no diagonal of the inverse: that is loo's)
        n = case["n"]
        x = rng.standard_normal((n, case["d"]), dtype=np.float32)
        y = rng.standard_normal((n, 1), dtype=np.float32)
        shifts = [np.float32(n * lam) for lam in case["lambdas"]]

        def eigen():
            # as regimes' eigen path: float64 dsyevd of the lower triangle, float32 vectors, then per
            # λ the coefficients, one refinement step, df and the train risk
            k = ntk_matrix(x)
            mu, q = np.linalg.eigh(k.astype(np.float64), UPLO="L")
            q = q.astype(np.float32)
            for s in shifts:
                w = (1 / (mu + s)).astype(np.float32)[:, None]
                c = q @ ((q.T @ y) * w)
                residual = y - (symmetric_product(k, c) + s * c)
                c = c + q @ ((q.T @ residual) * w)
                float(np.sum(mu / (mu + s)))
                float(np.mean(np.square(s * c)))

        def cholesky():
            k = ntk_matrix(x)
            for s in shifts:
                c, _ = ridge_solve(k, y, s)
                float(np.mean(np.square(s * c)))

        return best_of(eigen if kind == "ridge-eigen" else cholesky, repeat)
    if kind in ("rf-fit", "rf-fit-gcv"):
        n, d, width = case["n"], case["d"], case["width"]
        x = rng.standard_normal((n, d), dtype=np.float32)
        y = rng.standard_normal((n, 1), dtype=np.float32)

        def features():
            # the learner draws W in its fit, centres the features and labels for the intercept
            w = rng.standard_normal((width, d), dtype=np.float32)
            w /= np.linalg.norm(w, axis=1, keepdims=True)
            phi = np.maximum(x @ w.T, 0) / np.float32(np.sqrt(width))
            phi_mean, y_mean = phi.mean(0), y.mean()
            phi -= phi_mean
            return phi, y - y_mean, phi_mean, y_mean

        def fit():
            phi, yc, phi_mean, y_mean = features()
            g = (phi.T @ phi).T  # symmetric: its transpose is the Fortran-order view LAPACK takes without a copy
            c, df = ridge_solve(g, phi.T @ yc, n * 1e-3)
            float(np.mean(np.square(phi @ c - yc)))  # the train risk
            return c, y_mean - phi_mean @ c

        def fit_gcv():
            # generalized cross-validation over the grid from one float64 eigen-decomposition of the
            # Gram: df = Σ μ/(μ+nλ), residual from the projections, the best λ's weights
            phi, y, _, _ = features()
            mu, q = np.linalg.eigh((phi.T @ phi).astype(np.float64), UPLO="L")
            q = q.astype(np.float32)
            b = q.T @ (phi.T @ y)
            yy = float((y * y).sum())
            best = None
            for lam in case["lambdas"]:
                shrink = 1 / (mu + np.float32(n * lam))
                coef = b[:, 0] * shrink
                residual = yy - 2 * float(b[:, 0] @ coef) + float((mu * coef) @ coef)
                df = 1 + float(np.sum(mu * shrink))  # the intercept's degree of freedom, as the learner's
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


def serve():
    print(json.dumps({"blas": blas_name(), "numpy": np.__version__}), flush=True)
    for line in sys.stdin:
        case = json.loads(line)
        try:
            cold = run(case)
            warm = cold if case.get("once") else run(case)
            print(json.dumps({"cold": cold, "warm": warm}), flush=True)
        except Exception as error:  # a case numpy cannot run (memory, a missing module): reported, the rest go on
            print(json.dumps({"cold": None, "warm": None, "error": str(error)}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        cases = json.load(sys.stdin)
        print(json.dumps({"blas": blas_name(), "numpy": np.__version__, "results": {c["name"]: run(c) for c in cases}}))
