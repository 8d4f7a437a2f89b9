"""Linearised-network training dynamics (Lee et al. 2019), a direct numpy port for the tests.

Input (a JSON file, argv[1]): the kernels as matrices — theta (n×n), theta_test (m×n), k (n×n, NNGP),
k_test (m×n), k_diag (m) — labels y (n×k), the noiseless target f (m×k) at the test points, lr,
flow ('gd' | 'gradient-flow'), times (numbers or null for t = ∞). Output: per time the mean-path
train and test risks and the random-init variance terms, computed with matrix powers / the matrix
exponential and linear solves in float64 (no eigen-decomposition, unlike the TypeScript). numpy only:
the exponential is scaling and squaring of a Taylor series (scipy is not needed where numpy is).
"""
import json
import math
import sys

import numpy as np


def expm(a):
    """exp(a) by scaling and squaring: a / 2^s has norm ≤ 1/2, where 18 Taylor terms leave a
    remainder below 0.5^19 / 19! ≈ 1.6e-23; then s squarings, which carry the rounding up. Against
    scipy.linalg.expm on -c·XXᵀ/n (X n×n Gaussian): largest difference over largest entry 7e-16
    (n = 48, c = 0.1), 7e-14 (n = 300, c = 3), 8e-13 (n = 300, c = 200)."""
    norm = np.linalg.norm(a, 1)
    s = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0 else 0
    b = a / 2.0**s
    term = np.eye(a.shape[0])
    total = term.copy()
    for j in range(1, 19):
        term = term @ b / j
        total = total + term
    for _ in range(s):
        total = total @ total
    return total

with open(sys.argv[1]) as fh:
    c = json.load(fh)
theta = np.array(c["theta"], dtype=np.float64)
theta_test = np.array(c["theta_test"], dtype=np.float64)
K = np.array(c["k"], dtype=np.float64)
K_test = np.array(c["k_test"], dtype=np.float64)
k_diag = np.array(c["k_diag"], dtype=np.float64)
y = np.array(c["y"], dtype=np.float64)
f = np.array(c["f"], dtype=np.float64)
n, k = y.shape
rate = 2 * c["lr"] / (n * k)
I = np.eye(n)
out = []
for t in c["times"]:
    if t is None:  # t = ∞: the interpolant Θ⁻¹y
        E = np.zeros((n, n))
    elif c["flow"] == "gd":
        E = np.linalg.matrix_power(I - rate * theta, int(t))
    else:
        E = expm(-rate * t * theta)
    A = np.linalg.solve(theta, I - E)  # Θ⁻¹(I − E_t)
    train_mean = (I - E) @ y
    test_mean = theta_test @ A @ y
    var_test = k_diag + np.einsum("ij,jk,ik->i", theta_test @ A, K, theta_test @ A) - 2 * np.einsum(
        "ij,ij->i", theta_test @ A, K_test
    )
    var_train = np.trace(E @ K @ E.T) / n
    out.append(
        {
            "train": float(np.mean((train_mean - y) ** 2)),
            "test": float(np.mean((test_mean - f) ** 2)),
            "var_train": float(var_train),
            "var_test": float(np.mean(var_test)),
            "prediction": test_mean[:, 0].tolist(),
        }
    )
print(json.dumps(out))
