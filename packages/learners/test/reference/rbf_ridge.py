"""Float64 kernel ridge with the RBF kernel exp(-|x - x'|^2 / (2 l^2 d)), for host-direct.test.ts.

Reads JSON on stdin: x (n*d, row-major), y (n), test (t*d), d, bandwidth, lambdas, intercept.
Writes JSON: for each lambda, alpha (dual coefficients; beta = C alpha with an intercept), the
intercept b, and predictions at the test points. Solved with numpy.linalg.solve in float64.
"""
import json
import sys

import numpy as np

c = json.load(sys.stdin)
d = c["d"]
x = np.array(c["x"], dtype=np.float64).reshape(-1, d)
y = np.array(c["y"], dtype=np.float64)
t = np.array(c["test"], dtype=np.float64).reshape(-1, d)
n = x.shape[0]


def rbf(a, b):
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.exp(-np.maximum(sq, 0) / (2 * c["bandwidth"] ** 2 * d))


K = rbf(x, x)
Kt = rbf(t, x)
out = []
for lam in c["lambdas"]:
    if c["intercept"]:
        C = np.eye(n) - np.ones((n, n)) / n
        alpha = np.linalg.solve(C @ K @ C + n * lam * np.eye(n), y - y.mean())
        beta = alpha - alpha.mean()
        b = y.mean() - (K.mean(1) @ beta)
    else:
        beta = np.linalg.solve(K + n * lam * np.eye(n), y)
        b = 0.0
    out.append({"alpha": beta.tolist(), "b": float(b), "predictions": (Kt @ beta + b).tolist()})
json.dump(out, sys.stdout)
