"""Monte-Carlo NNGP and NTK of finite fully connected networks, float64 numpy (test/deep-kernel.test.ts).

The network of kernels.ts `deepKernel`, NTK parametrization, every entry N(0, 1):
  h1 = sw W1 x / sqrt(d) + sb b1,  h_{l+1} = sw W_{l+1} s(h_l) / sqrt(N) + sb b_{l+1},
  f = sw v . s(h_L) / sqrt(N)  (no readout bias).
Per network: the NNGP estimate sw^2 s(h_L)^T s(h_L) / N (the covariance of f given the hidden
layers) and the empirical NTK sum_theta df/dtheta(x) df/dtheta(x') by backpropagation. Prints the
mean over `nets` networks and its standard error, entry by entry.

"ntk_standard": the same networks in the standard parametrization -- the same functions, with the
weights W' = sw W / sqrt(fan-in) and biases b' = sb b as the trained parameters (the bias only
where sb > 0) -- its empirical NTK divided by the width N.

Input (argv[1], JSON): a list of cases, each {"x": [[...], ...], "activation": "relu" | "tanh", "layers": L, "w": sw^2,
"s": sb^2, "width": N, "nets": count, "seed": int}; prints the list of results.
"""
import json
import sys

import numpy as np


def activation(name):
    if name == "relu":
        return (lambda z: np.maximum(z, 0.0)), (lambda z: (z > 0).astype(np.float64))
    if name == "tanh":
        return np.tanh, (lambda z: 1.0 - np.tanh(z) ** 2)
    raise ValueError(name)


def one_net(rng, x, sigma, slope, layers, sw, sb, width):
    d, _ = x.shape
    hs = []
    fan_in, inputs, scale = d, x, np.sqrt(d)
    weights = []
    for _ in range(layers):
        W = rng.standard_normal((width, fan_in))
        b = rng.standard_normal((width, 1))
        h = sw * W @ inputs / scale + sb * b
        weights.append(W)
        hs.append(h)
        inputs, fan_in, scale = sigma(h), width, np.sqrt(width)
    v = rng.standard_normal(width)
    a_last = sigma(hs[-1])
    nngp = sw**2 * a_last.T @ a_last / width
    ntk = nngp.copy()  # the readout v
    standard = a_last.T @ a_last  # the readout's weights as they are: d f / d v' = s(h_L)
    g = slope(hs[-1]) * (sw * v / np.sqrt(width))[:, None]
    for l in range(layers - 1, -1, -1):
        below = x if l == 0 else sigma(hs[l - 1])
        size = d if l == 0 else width
        gg = g.T @ g
        ntk += gg * (sw**2 * below.T @ below / size) + sb**2 * gg
        standard += gg * (below.T @ below) + (gg if sb > 0 else 0.0)
        if l > 0:
            g = slope(hs[l - 1]) * (sw / np.sqrt(width) * weights[l].T @ g)
    return nngp, ntk, standard / width


def run(cfg):
    x = np.asarray(cfg["x"], dtype=np.float64).T  # d x P
    sigma, slope = activation(cfg["activation"])
    sw, sb = np.sqrt(cfg["w"]), np.sqrt(cfg["s"])
    rng = np.random.default_rng(cfg["seed"])
    nngps, ntks, standards = [], [], []
    for _ in range(cfg["nets"]):
        k, t, u = one_net(rng, x, sigma, slope, cfg["layers"], sw, sb, cfg["width"])
        nngps.append(k)
        ntks.append(t)
        standards.append(u)
    out = {}
    for name, draws in (("nngp", np.array(nngps)), ("ntk", np.array(ntks)), ("ntk_standard", np.array(standards))):
        out[name] = {
            "mean": draws.mean(0).tolist(),
            "se": (draws.std(0, ddof=1) / np.sqrt(len(draws))).tolist(),
        }
    return out


def main():
    print(json.dumps([run(cfg) for cfg in json.loads(sys.argv[1])]))


if __name__ == "__main__":
    main()
