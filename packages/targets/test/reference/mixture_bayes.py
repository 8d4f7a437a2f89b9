"""Monte-Carlo Bayes error of the two-class Gaussian mixture x | y ~ N(0, I + y*delta*P_S), y = +-1
with probability 1/2, written for the tests: full d-dimensional samples, classified by the sign of
the log-likelihood ratio of the two Gaussian densities (log-determinants and quadratic forms of the
full covariances; no chi-square reduction). Input argv[1] JSON {"d", "s", "delta", "m", "seed"};
output {"error", "se"}.
"""
import json
import sys

import numpy as np

config = json.loads(sys.argv[1])
d, s, delta, m = config["d"], config["s"], config["delta"], config["m"]
rng = np.random.default_rng(config["seed"])
basis, _ = np.linalg.qr(rng.standard_normal((d, s)))  # a random s-dimensional subspace
projector = basis @ basis.T
cov = {1: np.eye(d) + delta * projector, -1: np.eye(d) - delta * projector}
precision = {k: np.linalg.inv(v) for k, v in cov.items()}
logdet = {k: np.linalg.slogdet(v)[1] for k, v in cov.items()}
wrong = 0
done = 0
while done < m:
    k = min(200_000, m - done)
    y = np.where(rng.random(k) < 0.5, 1, -1)
    g = rng.standard_normal((k, d))
    roots = {lab: np.linalg.cholesky(cov[lab]) for lab in (1, -1)}
    x = np.where(y[:, None] > 0, g @ roots[1].T, g @ roots[-1].T)
    quad = {lab: np.einsum("ij,jk,ik->i", x, precision[lab], x) for lab in (1, -1)}
    llr = -0.5 * (quad[1] + logdet[1]) + 0.5 * (quad[-1] + logdet[-1])
    wrong += int(np.sum(np.where(llr > 0, 1, -1) != y))
    done += k
p = wrong / m
print(json.dumps({"error": p, "se": float(np.sqrt(p * (1 - p) / m))}))
