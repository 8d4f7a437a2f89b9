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

Multi-index targets f*(x) = g(Ux), U an r x d matrix with orthonormal rows (QR of a Gaussian), z = Ux,
h_2 = (z^2 - 1)/sqrt(2), h_3 = (z^3 - 3z)/sqrt(6), h_4 = (z^4 - 6z^2 + 3)/sqrt(24):
  target "he2"     (default) h_2(z_1), r = 1: the reference case above;
  target "damian"  (sum_i h_2(z_i) + sum_i h_degree(z_i)) / sqrt(2r), variance 1 (our `damian` preset,
                   normalize: true);
  target "z1z2+he3"  (z_1 z_2 + He_3(z_1)) / sqrt(7), variance 1 (r >= 2).
Transfer (dest = another target name, ndest its sample size): the step on the n samples of `target`
(the source task), then a readout on ndest samples of `dest` on the same U, with an intercept
(mean-centred, unpenalised) and lam by the validation set; risk is measured on `dest`.
Options then also: r, degree, target, dest, ndest. alignment is the energy of W1 in span U.
"""
import json
import sys

import numpy as np


H2 = lambda z: (z**2 - 1) / np.sqrt(2)
H3 = lambda z: (z**3 - 3 * z) / np.sqrt(6)
H4 = lambda z: (z**4 - 6 * z**2 + 3) / np.sqrt(24)


def link(name, r, degree):
    if name == "he2":
        return lambda z: H2(z[:, 0])
    if name == "damian":
        hk = {2: H2, 3: H3, 4: H4}[degree]
        extra = (lambda z: 0) if degree == 2 else (lambda z: hk(z).sum(1))
        scale = np.sqrt(r if degree == 2 else 2 * r)
        return lambda z: (H2(z).sum(1) + extra(z)) / scale
    if name == "z1z2+he3":
        return lambda z: (z[:, 0] * z[:, 1] + np.sqrt(6) * H3(z[:, 0])) / np.sqrt(7)
    raise ValueError(f"unknown target {name}")


def run(seed, d, n, width, noise, val=4096, test=8192, split=None, remove=True, lam=None,
        r=1, degree=2, target="he2", dest=None, ndest=None):
    rng = np.random.default_rng(seed)
    if target == "he2" and r == 1:
        wstar = rng.standard_normal(d)
        u = (wstar / np.linalg.norm(wstar))[None, :]
    else:
        u = np.linalg.qr(rng.standard_normal((d, r)))[0].T
    g = link(target, r, degree)
    fstar = lambda x: g(x @ u.T)

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
    alignment = float(np.sum((w1 @ u.T) ** 2) / np.sum(w1**2))
    if dest is not None:
        return transfer(rng, u, link(dest, r, degree), feats, d, ndest, noise, val, test, alignment)
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
    return {"risk": risk, "alignment": alignment, "lam": float(chosen) / width}


def transfer(rng, u, g, feats, d, m, noise, val, test, alignment):
    """A readout on m samples of the destination g(Ux) on the source step's features."""
    width = feats(np.zeros((1, d))).shape[1]

    def batch(k):
        x = rng.standard_normal((k, d))
        return x, g(x @ u.T) + np.sqrt(noise) * rng.standard_normal(k)

    x, y = batch(m)
    h = feats(x)
    hm, ym = h.mean(0), y.mean()
    hc, yc = h - hm, y - ym
    s, q = np.linalg.eigh(hc.T @ hc / m)
    qty = q.T @ (hc.T @ yc / m)
    solve = lambda l: q @ (qty / (s + l))
    predict = lambda c, xs: ym + (feats(xs) - hm) @ c
    xv, yv = batch(val)
    grid = np.geomspace(1e-10, 1e15, 100)
    chosen = grid[int(np.argmin([np.mean((predict(solve(l), xv) - yv) ** 2) for l in grid]))]
    xt = rng.standard_normal((test, d))
    err = (predict(solve(chosen), xt) - g(xt @ u.T)) ** 2
    return {"risk": float(err.mean()), "risk_se": float(err.std() / np.sqrt(test)),
            "alignment": alignment, "lam": float(chosen) / width}


if __name__ == "__main__":
    print(json.dumps(run(**json.loads(sys.argv[1]))))
