"""The ReLU dual of shifted operands in 60-digit decimal arithmetic (Python's decimal module only).

For each case [rho, qa, qb, C] (the float32 deviations and the constant), with ρ = C + rho,
q_a = C + qa, q_b = C + qb, s = √(q_a q_b), cos θ = ρ/s clamped to [−1, 1]:
  value = s(sin θ + (π − θ) cos θ)/(2π) − C/2,  derivative = −θ/(2π),
the outputs of numerics' reluDualShifted without its cosine tolerance (the cases keep clear of it).
At 60 digits C + rho keeps deviations of 1e-40·C, which float64 (1e-16·C) does not: the reference
for C of 1e12 and deviations of order 1.

Input (stdin, JSON): {"cases": [[rho, qa, qb, C], ...]}. Output (stdout, JSON): {"value": [...],
"derivative": [...]}, as decimal strings rounded to 20 digits.

With {"deep": {"x": [[...]], "layers": L, "weightVariance": σ_w², "biasVariance": σ_b², "output":
"ntk" | "nngp"}} instead: K − K₀ of the deep ReLU kernel (learners' deepKernel, NTK parametrization,
every layer trained) between all pairs of rows of x, K₀ the recursion at ρ = q = 0; output
{"kernel": [[...]]} (20 digits). At 60 digits this resolves deviations that float64 loses after
~50 layers with σ_w² = 1 (they halve each layer while K₀ → 2σ_b²).
"""
import json
import sys
from decimal import Decimal, getcontext

getcontext().prec = 60

PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")


def asin(x):
    """asin(x) for 0 ≤ x ≤ 0.75 by its series Σ (2k)!/(4^k (k!)² (2k + 1)) x^(2k+1)."""
    term, total, k = x, x, 0
    square = x * x
    while True:
        term = term * square * (2 * k + 1) * (2 * k + 1) / ((2 * k + 2) * (2 * k + 3))
        k += 1
        if abs(term) < Decimal(10) ** -62:
            return total + term
        total += term


def acos(c):
    """acos(c) for c in [−1, 1]: 2 asin(√((1 − c)/2)) for c ≥ 0, π − 2 asin(√((1 + c)/2)) below."""
    if c >= 0:
        return 2 * asin(((1 - c) / 2).sqrt())
    return PI - 2 * asin(((1 + c) / 2).sqrt())


def sin_of(theta, c):
    return (1 - c * c).sqrt() if c * c < 1 else Decimal(0)


def deep_entry(rho, qa, qb, layers, w, s, output):
    c, a, b = w * rho + s, w * qa + s, w * qb + s
    theta = first = c
    for layer in range(1, layers + 1):
        last = layer == layers
        scale = (a * b).sqrt()
        cos = max(Decimal(-1), min(Decimal(1), c / scale))
        angle = acos(cos)
        value = scale * (sin_of(angle, cos) + (PI - angle) * cos) / (2 * PI)
        slope = w * (PI - angle) / (2 * PI)
        first = slope * first
        c = w * value + (0 if last else s)
        theta = c + (first if layer == 1 else slope * theta)
        a, b = w * a / 2 + s, w * b / 2 + s
    return c if output == "nngp" else theta


def deep(config):
    rows = [[Decimal(float(v)) for v in row] for row in config["x"]]
    layers, output = config["layers"], config["output"]
    w, s = Decimal(float(config["weightVariance"])), Decimal(float(config["biasVariance"]))
    d = len(rows[0])
    zero = deep_entry(Decimal(0), Decimal(0), Decimal(0), layers, w, s, output)
    dot = lambda u, v: sum(p * q for p, q in zip(u, v)) / d
    kernel = [
        [format(deep_entry(dot(u, v), dot(u, u), dot(v, v), layers, w, s, output) - zero, ".20e") for v in rows]
        for u in rows
    ]
    print(json.dumps({"kernel": kernel}))


def main():
    config = json.loads(sys.stdin.read())
    if "deep" in config:
        return deep(config["deep"])
    cases = config["cases"]
    values, derivatives = [], []
    for rho, qa, qb, shift in cases:
        rho, qa, qb, shift = (Decimal(float(v)) for v in (rho, qa, qb, shift))  # exact
        scale = ((shift + qa) * (shift + qb)).sqrt()
        c = max(Decimal(-1), min(Decimal(1), (shift + rho) / scale))
        theta = acos(c)
        value = scale * (sin_of(theta, c) + (PI - theta) * c) / (2 * PI) - shift / 2
        values.append(format(value, ".20e"))
        derivatives.append(format(-theta / (2 * PI), ".20e"))
    print(json.dumps({"value": values, "derivative": derivatives}))


if __name__ == "__main__":
    main()
