"""Damian, Lee & Soltanolkotabi 2022, the protocol of the authors' reference experiment, in numpy.

An independent port (written from the protocol, not from our TypeScript) that the tests compare
`damian` with. f*(x) = He_2(<w*, x>)/sqrt(2), y = f* + noise of variance `noise`:
  c0 = mean(y), c1 = mean(y x); y <- y - c0 - x c1             (linear part removed)
  symmetric init: w ~ N(0, I/d), b ~ N(0, 1), a = +-1, pairs (w, b, a), (w, b, -a)
  W1 = -grad_W mean((sigma(x W^T + b) a - y)^2) / rms row norm  (one step)
  readout a = (H^T H/n + lam I)^-1 H^T y/n, H = relu(x W1^T + b), on the same n samples
  lam from geomspace(1e-10, 1e15, 100) on a validation set (linear part removed as well)
Options (JSON on argv[1]): seed, d, n, width, noise, val, test, split (fraction of the samples
for the step, the rest for the readout; null: reuse), remove (linear part), lam (a fixed lam in
the units of sigma/sqrt(N) features, i.e. lam_here = width * lam; null: tuned).
Prints JSON: risk (mean squared error against the noiseless f* on the test set), alignment
(energy of W1 along w*: ||W1 w*||^2 / ||W1||_F^2), lam.
"""
import json
import sys

import numpy as np


def run(seed, d, n, width, noise, val=4096, test=8192, split=None, remove=True, lam=None):
    rng = np.random.default_rng(seed)
    wstar = rng.standard_normal(d)
    wstar /= np.linalg.norm(wstar)
    fstar = lambda x: ((x @ wstar) ** 2 - 1) / np.sqrt(2)

    def batch(m):
        x = rng.standard_normal((m, d))
        return x, fstar(x) + np.sqrt(noise) * rng.standard_normal(m)

    x, y = batch(n)
    c0, c1 = (y.mean(), y @ x / n) if remove else (0.0, np.zeros(d))
    y = y - c0 - x @ c1
    n1 = n if split is None else int(round(split * n))
    x1, y1 = x[:n1], y[:n1]
    x2, y2 = (x, y) if split is None else (x[n1:], y[n1:])

    half = width // 2
    w0 = rng.standard_normal((half, d)) / np.sqrt(d)
    b0 = rng.standard_normal(half)
    a0 = rng.choice([-1.0, 1.0], half)
    w, b, a = np.vstack([w0, w0]), np.concatenate([b0, b0]), np.concatenate([a0, -a0])

    # d/dW mean((relu(x W^T + b) a - y)^2) = (2/n) sum_i r_i a_j 1[z_ij > 0] x_i, r = f - y
    z = x1 @ w.T + b
    r = np.maximum(z, 0) @ a - y1
    grad = (2 / n1) * ((r[:, None] * (z > 0)) * a[None, :]).T @ x1
    w1 = -grad / np.sqrt(np.mean(np.sum(grad**2, 1)))

    feats = lambda q: np.maximum(q @ w1.T + b, 0)
    h = feats(x2)
    hth, hty = h.T @ h / len(y2), h.T @ y2 / len(y2)
    s, q = np.linalg.eigh(hth)
    qty = q.T @ hty
    solve = lambda l: q @ (qty / (s + l))
    if lam is None:
        xv, yv = batch(val)
        yv = yv - c0 - xv @ c1
        hv = feats(xv)
        grid = np.geomspace(1e-10, 1e15, 100)
        losses = [np.mean((hv @ solve(l) - yv) ** 2) for l in grid]
        chosen = grid[int(np.argmin(losses))]
    else:
        chosen = width * lam
    coef = solve(chosen)
    xt = rng.standard_normal((test, d))
    pred = c0 + xt @ c1 + feats(xt) @ coef
    risk = float(np.mean((pred - fstar(xt)) ** 2))
    alignment = float(np.sum((w1 @ wstar) ** 2) / np.sum(w1**2))
    return {"risk": risk, "alignment": alignment, "lam": float(chosen) / width}


if __name__ == "__main__":
    print(json.dumps(run(**json.loads(sys.argv[1]))))
