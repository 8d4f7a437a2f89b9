"""Deep NNGP and NTK of a polynomial activation by tensor Gauss-Hermite quadrature (float64).

sigma = sum_k c_k h_k with h_k = He_k / sqrt(k!) (probabilists' Hermite, orthonormal under N(0, 1)).
Each layer's expectations E[f(u) g(v)] over (u, v) ~ N(0, [[qa, c], [c, qb]]) are taken with
u = sqrt(qa) z1, v = sqrt(qb) (t z1 + sqrt(1 - t^2) z2), t = c / sqrt(qa qb), on the product of two
N-point Gauss-Hermite rules (numpy's hermegauss), N = degree + 2: exact for the polynomial integrand
up to rounding. No Mehler series and no closed form of the scaled coefficients: an independent check
of those.

Recursion (the NTK parametrization, as docs/kernels.md): Sigma^1 = w rho + s,
Sigma^{l+1} = w E[sigma sigma] + s (no s at the readout), Sigmadot^{l+1} = w E[sigma' sigma'],
Theta^1 = Sigma^1, Theta^{l+1} = Sigma^{l+1} + Theta^l Sigmadot^{l+1}. On the sphere rho is the
cosine of the inputs, else <x, x'>/d.

Input (argv[1]): a JSON list of {x: rows, c: coefficients, layers, w, s, sphere}.
Output: a JSON list of {nngp, ntk}, each an n x n list.
"""

import json
import math
import sys

import numpy as np
from numpy.polynomial import hermite_e as He


def kernels(case):
    x = np.asarray(case["x"], dtype=np.float64)
    c = np.asarray(case["c"], dtype=np.float64)
    w, s, layers = float(case["w"]), float(case["s"]), int(case["layers"])
    n, d = x.shape
    # sigma and sigma' in the He basis: coefficients c_k / sqrt(k!)
    scale = np.exp(-0.5 * np.array([math.lgamma(k + 1) for k in range(len(c))]))
    sigma = c * scale
    slope = He.hermeder(sigma) if len(sigma) > 1 else np.zeros(1)
    nodes, weights = He.hermegauss(len(c) + 2)
    weights = weights / math.sqrt(2 * math.pi)
    z1, z2 = np.meshgrid(nodes, nodes, indexing="ij")
    grid = np.outer(weights, weights)

    def expect(f, qa, qb, cov):
        t = np.clip(cov / math.sqrt(qa * qb), -1.0, 1.0) if qa > 0 and qb > 0 else 0.0
        u = math.sqrt(qa) * z1
        v = math.sqrt(qb) * (t * z1 + math.sqrt(max(1.0 - t * t, 0.0)) * z2)
        return float(np.sum(grid * He.hermeval(u, f) * He.hermeval(v, f)))

    rho = x @ x.T / d
    if case["sphere"]:
        norms = np.sqrt(np.diag(rho))
        rho = rho / np.outer(norms, norms)
    cov = w * rho + s
    theta = cov.copy()
    for layer in range(1, layers + 1):
        last = layer == layers
        value = np.empty((n, n))
        dot = np.empty((n, n))
        for i in range(n):
            for j in range(n):
                value[i, j] = expect(sigma, cov[i, i], cov[j, j], cov[i, j])
                dot[i, j] = w * expect(slope, cov[i, i], cov[j, j], cov[i, j])
        cov = w * value + (0.0 if last else s)
        theta = cov + theta * dot
    return {"nngp": cov.tolist(), "ntk": theta.tolist()}


def main():
    cases = json.loads(sys.argv[1])
    print(json.dumps([kernels(case) for case in cases]))


if __name__ == "__main__":
    main()
