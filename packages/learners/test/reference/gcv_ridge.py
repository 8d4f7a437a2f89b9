"""GCV over a λ grid for kernel ridge with an unpenalised intercept, in float64 (numpy).

The kernel is the infinite-width NTK of a fully connected relu net with L hidden layers (NTK
parametrization, σ_w² = "weightVariance" (1), σ_b² = "biasVariance" (0) on every hidden layer):
Σ¹ = σ_w²ρ + σ_b², ρ = ⟨x, x'⟩/d, q = σ_w²‖x‖²/d + σ_b², per layer the arc-cosine expectations
E[relu(u)relu(v)] = √(q q')(sin θ + (π − θ) cos θ)/(2π), E[step(u)step(v)] = (π − θ)/(2π),
Σ^{ℓ+1} = σ_w²E[relu relu] + σ_b² (no bias at the readout), Σ̇^{ℓ+1} = σ_w²E[step step],
Θ^{ℓ+1} = Σ^{ℓ+1} + Θ^ℓ Σ̇^{ℓ+1}, the next variance σ_w²q/2 + σ_b²; with "output": "nngp" the
NNGP Σ^{L+1} instead. The ridge with intercept is ridge on the
centred kernel K_c = CKC (C = I − 11ᵀ/n) and centred labels: (K_c + nλI)α = y − ȳ, with
df = 1 + Σ μ/(μ + nλ) over K_c's eigenvalues and GCV = train risk / (1 − df/n)².

With "kernel": "dot" and "taylor": [c_0, c_1, ...], Σ_k c_k ρ^k of ρ = ⟨x, x'⟩/d (regimes' `kernel`
learner, type dot, sphere: false). With "kernel": "rbf", the RBF kernel exp(−‖x − x'‖²/(2ℓ²d)) of "bandwidth" ℓ instead (regimes' `kernel`
learner, type rbf), the distances summed in float64 from the differences.

Input (argv[1], JSON, or "-" to read it from stdin): {"x": [[...]], "y": [...], "grid": [...], "layers": L} or
{"x": ..., "y": ..., "grid": ..., "kernel": "rbf", "bandwidth": ℓ}.
Output (stdout, JSON): {"gcv": [...], "df": [...], "loo": [...],
"best": λ (gcv's)}, loo the leave-one-out score from the leverages H_ii = 1/n + Σ_j q_ij² μ_j/(μ_j + nλ).
"""
import json
import sys

import numpy as np


def relu_ntk(x, layers, bias_variance=0.0, weight_variance=1.0, output="ntk"):
    w, s = weight_variance, bias_variance
    d = x.shape[1]
    q = w * (x * x).sum(1) / d + s
    c = w * (x @ x.T) / d + s
    theta = c.copy()
    first = c.copy()
    for layer in range(1, layers + 1):
        last = layer == layers
        scale = np.sqrt(np.outer(q, q))
        cos = np.clip(c / scale, -1.0, 1.0)
        angle = np.arccos(cos)
        value = scale * (np.sin(angle) + (np.pi - angle) * cos) / (2 * np.pi)
        slope = w * (np.pi - angle) / (2 * np.pi)
        first = slope * first
        c = w * value + (0.0 if last else s)
        theta = c + (first if layer == 1 else slope * theta)
        q = w * q / 2 + s
    return c if output == "nngp" else theta


def rbf(x, bandwidth):
    d = x.shape[1]
    squared = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return np.exp(-squared / (2 * bandwidth**2 * d))


def main():
    config = json.loads(sys.stdin.read() if sys.argv[1] == "-" else sys.argv[1])
    x = np.asarray(config["x"], dtype=np.float64)
    y = np.asarray(config["y"], dtype=np.float64)
    n = x.shape[0]
    if config.get("kernel") == "rbf":
        kernel = rbf(x, config["bandwidth"])
    elif config.get("kernel") == "dot":
        rho = x @ x.T / x.shape[1]
        kernel = sum(c * rho**k for k, c in enumerate(config["taylor"]))
    else:
        kernel = relu_ntk(
            x,
            config["layers"],
            config.get("biasVariance", 0.0),
            config.get("weightVariance", 1.0),
            config.get("output", "ntk"),
        )
    centre = np.eye(n) - 1.0 / n
    mu, q = np.linalg.eigh(centre @ kernel @ centre)
    projected = q.T @ (y - y.mean())
    scores, dfs, loos = [], [], []
    for lam in config["grid"]:
        weights = 1.0 / (mu + n * lam)
        residual = n * lam * (q @ (weights * projected))
        df = 1.0 + float(np.sum(mu * weights))
        scores.append(float(np.mean(residual**2) / (1.0 - df / n) ** 2))
        dfs.append(df)
        leverages = 1.0 / n + (q * q) @ (mu * weights)
        loos.append(float(np.mean((residual / (1.0 - leverages)) ** 2)))
    best = config["grid"][int(np.argmin(scores))]
    print(json.dumps({"gcv": scores, "df": dfs, "loo": loos, "best": best}))


main()
