"""Float64 reference for eigenlearning.ts, computed another way.

Input (argv[1], JSON): {"cases": [{"d", "taylor": [c_k], "terms": [[coef, k], ...] (g = sum coef h_k),
"noise" (sigma^2), "intercept", "n", "ridge", "top"}]}.
Output (stdout, JSON): per case the sphere eigenvalues mu_0..mu_top, the target's energies by spherical
degree, its unlearnable (radial) energy, kappa and the predicted risk.

- Eigenvalues by Gauss-Jacobi quadrature of h(t) P_l(t) against (1 - t^2)^((d-3)/2) (Funk-Hecke), with
  P_l = C_l^((d-2)/2)(t) / C_l^((d-2)/2)(1) from scipy; multiplicities C(d+l-1, l) - C(d+l-3, l-2).
- Energies of F(t) = E_rho[g(rho t)], rho ~ chi_d, by scipy.integrate.quad in rho at each quadrature
  node t: energy_l = N(d, l) E_t[F P_l]^2; the unlearnable part is E[g(z)^2] (Gauss-Hermite) minus their sum.
- kappa by brentq on n = sum_i mu_i/(mu_i + kappa) + n lambda/kappa over every eigenmode (degree 0
  infinite with an intercept); risk in Canatar, Bordelon & Pehlevan's form
  (B + gamma eps^2)/(1 - gamma) + u, gamma = sum_i L_i^2 / n, eps^2 = sigma^2 + u.
"""

import json
import math
import sys

import numpy as np
from scipy import integrate, optimize, special, stats


def multiplicity(d, l):
    return math.comb(d + l - 1, l) - (math.comb(d + l - 3, l - 2) if l >= 2 else 0)


def gegenbauer(d, l, t):
    a = (d - 2) / 2
    return special.eval_gegenbauer(l, a, t) / special.eval_gegenbauer(l, a, 1.0)


def hermite_normalized(k, z):
    c = np.zeros(k + 1)
    c[k] = 1.0
    return np.polynomial.hermite_e.hermeval(z, c) / math.sqrt(math.factorial(k))


def solve(case):
    d, taylor, top = case["d"], case["taylor"], case["top"]
    alpha = (d - 3) / 2
    t, w = special.roots_jacobi(30, alpha, alpha)
    w = w / w.sum()
    h = sum(c * t**k for k, c in enumerate(taylor))
    mu = [float(np.sum(w * h * gegenbauer(d, l, t))) for l in range(top + 1)]
    mult = [multiplicity(d, l) for l in range(top + 1)]

    terms = case["terms"]
    g = lambda z: sum(coef * hermite_normalized(k, z) for coef, k in terms)
    chi = stats.chi(d)
    F = np.array(
        [integrate.quad(lambda r: g(r * ti) * chi.pdf(r), 0, np.inf, epsabs=1e-13, epsrel=1e-12)[0] for ti in t]
    )
    energy = [mult[l] * float(np.sum(w * F * gegenbauer(d, l, t))) ** 2 for l in range(top + 1)]
    z, zw = special.roots_hermitenorm(40)
    total = float(np.sum(zw * g(z) ** 2) / np.sum(zw))
    unlearnable = total - sum(energy)

    n, ridge, noise = case["n"], case["ridge"], case["noise"]
    eig = np.concatenate([np.full(mult[l], mu[l]) for l in range(top + 1) if mu[l] > 1e-300])
    v2 = np.concatenate([np.full(mult[l], energy[l] / mult[l]) for l in range(top + 1) if mu[l] > 1e-300])
    infinite = np.zeros(len(eig), bool)
    if case["intercept"]:
        infinite[0] = True  # the constant is the first mode of degree 0
    # energies of degrees with mu = 0 are never learned
    lost = sum(energy[l] for l in range(top + 1) if not mu[l] > 1e-300)

    def learn(kappa):
        return np.where(infinite, 1.0, eig / (eig + kappa))

    rank = len(eig)
    if ridge > 0 or n < rank:
        f = lambda logk: learn(math.exp(logk)).sum() + n * ridge / math.exp(logk) - n
        logk = optimize.brentq(f, -600, 60, xtol=1e-15, rtol=1e-15, maxiter=1000)
        kappa = math.exp(logk)
    else:
        kappa = 0.0
    L = learn(kappa) if kappa > 0 else np.ones(rank)
    gamma = float(np.sum(L**2)) / n
    u = unlearnable + lost
    eps2 = noise + u
    B = float(np.sum((1 - L) ** 2 * v2))
    risk = (B + gamma * eps2) / (1 - gamma) + u
    return {"eigenvalues": mu, "energy": energy, "unlearnable": unlearnable, "kappa": kappa, "risk": risk}


config = json.loads(sys.argv[1])
print(json.dumps([solve(c) for c in config["cases"]]))
