"""Exact population risks (n -> infinity) of RF, NT and NN with sigma(z) = z^2 on the quadratic target
f*(x) = x^T B x - tr B, x ~ N(0, I_d), for a given first layer W (Ghorbani, Mei, Misiakiewicz &
Montanari 2019), written for the tests without the TypeScript code.

With an output intercept each model is x^T M x + c and its risk is 2 ||M - B||_F^2, using
E[(x^T A x - tr A)(x^T C x - tr C)] = 2 tr(AC):
  RF: M in span{w_j w_j^T}, a least-squares problem over the N coefficients in Frobenius norm;
  NT: M = S^T W + W^T S for any S (the tangent of a_j (w_j^T x)^2 in w_j), the symmetric matrices
      with (I - P) M (I - P) = 0, P the projector on the row space of W: risk 2 ||(I-P) B (I-P)||_F^2,
      computed here as a least-squares problem over S (independent of the projector formula);
  NN: M of rank <= N: 2 * sum of the squared eigenvalues beyond the N largest in |.|.
Without the intercept the model x^T M x has mean tr M against f*'s 0, and its risk is
2 ||M - B||_F^2 + (tr M)^2: "nt_plain" minimizes that over the same S, as least squares with the
trace as one more row (again not a projector formula).
Input (argv[1], JSON): {"w": [[...] N rows of d], "b": [[...] d x d]}. Output: JSON with rf, nt, nt_plain,
nn (unnormalized) and variance = 2 ||B||_F^2.
Or {"average": {"b": [[...]], "widths": [...], "draws": k, "seed": s}}: for each width the mean and
standard error over k draws of W with rows N(0, I/d) of the exact RF and NT risks (NT by the
projector formula; nt_plain, without the intercept, adds 2 tr(PBP)^2/(rank P + 2), the minimum of
2 ||X - PBP||^2 + (tr X)^2 over the block X = PMP, which the least squares above checks per W),
normalized by Var f*: what the closed forms give or approximate. Up to d = 12 every draw takes
`population`'s least squares instead of the projector formulas.
"""
import json
import sys

import numpy as np


def population(w, b):
    n_neurons, d = w.shape
    rf_basis = np.stack([np.outer(v, v).ravel() for v in w], 1)  # d^2 x N
    coef, *_ = np.linalg.lstsq(rf_basis, b.ravel(), rcond=None)
    rf = 2 * np.sum((rf_basis @ coef - b.ravel()) ** 2)
    # NT: the map S (N x d) -> S^T W + W^T S as a d^2 x (N d) matrix
    cols = []
    for j in range(n_neurons):
        for k in range(d):
            s = np.zeros((n_neurons, d))
            s[j, k] = 1.0
            cols.append((s.T @ w + w.T @ s).ravel())
    nt_basis = np.stack(cols, 1)
    coef, *_ = np.linalg.lstsq(nt_basis, b.ravel(), rcond=None)
    nt = 2 * np.sum((nt_basis @ coef - b.ravel()) ** 2)
    # without the intercept: rows sqrt(2) vec(M - B) and tr M, whose squares sum to the risk
    plain_basis = np.vstack([np.sqrt(2) * nt_basis, nt_basis[:: d + 1].sum(0, keepdims=True)])
    plain_target = np.concatenate([np.sqrt(2) * b.ravel(), [0.0]])
    coef, *_ = np.linalg.lstsq(plain_basis, plain_target, rcond=None)
    nt_plain = np.sum((plain_basis @ coef - plain_target) ** 2)
    lam = np.linalg.eigvalsh(b)
    lam = lam[np.argsort(-np.abs(lam))]
    nn = 2 * np.sum(lam[n_neurons:] ** 2)
    return {
        "rf": float(rf),
        "nt": float(nt),
        "nt_plain": float(nt_plain),
        "nn": float(nn),
        "variance": float(2 * np.sum(b * b)),
    }


def average(b, widths, draws, seed):
    d = b.shape[0]
    rng = np.random.default_rng(seed)
    variance = 2 * np.sum(b * b)
    out = {}
    for n_neurons in widths:
        rf, nt, plain = [], [], []
        for _ in range(draws):
            w = rng.standard_normal((n_neurons, d)) / np.sqrt(d)
            if d <= 12:  # small enough for the least squares over S
                exact = population(w, b)
                rf.append(exact["rf"] / variance)
                nt.append(exact["nt"] / variance)
                plain.append(exact["nt_plain"] / variance)
                continue
            basis = np.stack([np.outer(v, v).ravel() for v in w], 1)
            coef, *_ = np.linalg.lstsq(basis, b.ravel(), rcond=None)
            rf.append(2 * np.sum((basis @ coef - b.ravel()) ** 2) / variance)
            q, _ = np.linalg.qr(w.T)
            rank = min(n_neurons, d)
            kept = q[:, :rank] @ q[:, :rank].T
            rest = np.eye(d) - kept
            nt.append(2 * np.sum((rest @ b @ rest) ** 2) / variance)
            plain.append(nt[-1] + 2 * np.trace(kept @ b @ kept) ** 2 / (rank + 2) / variance)
        out[str(n_neurons)] = {
            "rf": float(np.mean(rf)),
            "rf_se": float(np.std(rf, ddof=1) / np.sqrt(draws)),
            "nt": float(np.mean(nt)),
            "nt_se": float(np.std(nt, ddof=1) / np.sqrt(draws)),
            "nt_plain": float(np.mean(plain)),
            "nt_plain_se": float(np.std(plain, ddof=1) / np.sqrt(draws)),
        }
    return out


if __name__ == "__main__":
    config = json.loads(sys.argv[1])
    if "average" in config:
        a = config["average"]
        print(json.dumps(average(np.array(a["b"], float), a["widths"], a["draws"], a["seed"])))
    else:
        print(json.dumps(population(np.array(config["w"], float), np.array(config["b"], float))))
