"""numpy's side of the bench's end-to-end RF ridge case (bench/run.mjs): the work of one `regimes run`
cell of the spec there, in float32, as a script a user would write: draw the data, the target
f*(x) = He_2(<u, x>)/sqrt(2), relu random features with biases N(0, 0.5^2) scaled by 1/sqrt(N), an
unpenalised intercept by centring, the readout by ridge (one Cholesky at lambda fixed, in place by
scipy where it is installed, or generalized cross-validation over 1e-8 ... 10 from one eigh of the
Gram), then the test risk.

    python3 bench/rf_ridge_e2e.py fixed|gcv n d width test_n
"""
import sys

import numpy as np

try:
    from scipy.linalg import cho_factor, cho_solve
except ImportError:  # numpy alone: its Cholesky (a copy) and general solves on L
    cho_factor = None


def main(mode, n, d, width, test_n):
    rng = np.random.default_rng(0)
    u = rng.standard_normal(d).astype(np.float32)
    u /= np.linalg.norm(u)

    def target(x):
        z = x @ u
        return ((z * z - 1) / np.float32(np.sqrt(2)))[:, None]

    x = rng.standard_normal((n, d), dtype=np.float32)
    y = target(x)
    xt = rng.standard_normal((test_n, d), dtype=np.float32)
    yt = target(xt)
    w = rng.standard_normal((width, d), dtype=np.float32)
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    b = (0.5 * rng.standard_normal(width)).astype(np.float32)
    scale = np.float32(1 / np.sqrt(width))

    phi = np.maximum(x @ w.T + b, 0) * scale
    phi_mean, y_mean = phi.mean(0), y.mean()
    phi -= phi_mean
    yc = y - y_mean
    gram = phi.T @ phi
    rhs = phi.T @ yc
    if mode == "gcv":
        mu, q = np.linalg.eigh(gram)
        proj = (q.T @ rhs)[:, 0]
        yy = float((yc * yc).sum())
        best = None
        for lam in [10.0**k for k in range(-8, 2)]:
            shrink = 1 / (mu + np.float32(n * lam))
            coef = proj * shrink
            residual = yy - 2 * float(proj @ coef) + float((mu * coef) @ coef)
            df = float(np.sum(mu * shrink))
            score = residual / n / (1 - df / n) ** 2
            if best is None or score < best[0]:
                best = (score, coef)
        a = q @ best[1][:, None]
    else:
        gram[np.diag_indices(width)] += np.float32(n * 1e-3)
        if cho_factor is not None:  # LAPACK's spotrf in place, spotrs
            # gram.T: the Fortran-order view of the symmetric Gram, factored in place without a copy
            a = cho_solve(cho_factor(gram.T, lower=True, overwrite_a=True, check_finite=False), rhs, check_finite=False)
        else:
            l = np.linalg.cholesky(gram)
            a = np.linalg.solve(l.T, np.linalg.solve(l, rhs))
    prediction = (np.maximum(xt @ w.T + b, 0) * scale - phi_mean) @ a + y_mean
    print(f"risk {float(np.mean((prediction - yt) ** 2)):.4f}")


if __name__ == "__main__":
    main(sys.argv[1], *(int(v) for v in sys.argv[2:6]))
