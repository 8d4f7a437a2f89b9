"""One large gradient step on the first layer, then ridge on the readout (Ba et al. 2022), in numpy.

An independent port of the protocol that the tests compare `one-step` with.
f(x) = (1/sqrt(N)) sum_j a_j tanh(<w_j, x>), w_j ~ N(0, I/d), a_j ~ N(0, 1/N) (readout "small",
Ba et al.: f0 ~ 0) or N(0, 1) ("unit": f0 = O(1)). Target (h1 + h3)(<u, x>)/sqrt(2), normalized
Hermite h_k, noise variance `noise`. On n samples:
  W1 = W0 - eta sqrt(N) grad_W mean((f(x) - y)^2),  eta = eta0 n^alpha (n: the step's samples)
then ridge on tanh(x W1^T)/sqrt(N) over a fresh set of n samples, (Phi^T Phi + n lam I) c = Phi^T y.
Options (JSON on argv[1]): seed, d, N, n, eta0, alpha, readout, lam, noise, test.
Prints JSON: alignment (energy along u of W1's top right singular vector), risk (against the
noiseless f* on the test set), spike (top singular value of W1 - W0).
"""
import json
import sys

import numpy as np


def run(seed, d, N, n, eta0, alpha=0.0, readout="small", lam=1e-3, noise=0.0, test=8192):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    fstar = lambda x: ((x @ u) + ((x @ u) ** 3 - 3 * (x @ u)) / np.sqrt(6)) / np.sqrt(2)

    def batch(m):
        x = rng.standard_normal((m, d))
        return x, fstar(x) + np.sqrt(noise) * rng.standard_normal(m)

    x, y = batch(n)
    w0 = rng.standard_normal((N, d)) / np.sqrt(d)
    a = rng.standard_normal(N) * (1 / np.sqrt(N) if readout == "small" else 1.0)
    z = x @ w0.T
    f = np.tanh(z) @ a / np.sqrt(N)
    # d/dW mean((f - y)^2) = (2/n) sum_i (f_i - y_i) (a_j/sqrt(N)) tanh'(z_ij) x_i
    grad = (2 / n) * (((f - y)[:, None] * (1 - np.tanh(z) ** 2)) * (a / np.sqrt(N))[None, :]).T @ x
    eta = eta0 * n**alpha
    delta = -eta * np.sqrt(N) * grad
    w1 = w0 + delta
    _, s, vt = np.linalg.svd(w1, full_matrices=False)
    alignment = float((vt[0] @ u) ** 2)
    spike = float(np.linalg.svd(delta, compute_uv=False)[0])

    x2, y2 = batch(n)
    phi = np.tanh(x2 @ w1.T) / np.sqrt(N)
    c = np.linalg.solve(phi.T @ phi + n * lam * np.eye(N), phi.T @ y2)
    xt = rng.standard_normal((test, d))
    risk = float(np.mean((np.tanh(xt @ w1.T) / np.sqrt(N) @ c - fstar(xt)) ** 2))
    return {"alignment": alignment, "risk": risk, "spike": spike, "eta": eta}


if __name__ == "__main__":
    print(json.dumps(run(**json.loads(sys.argv[1]))))
