#!/usr/bin/env python3
"""Expected values for Weir's statistics module (src/stats), computed with SciPy and NumPy.

Writes test/stats/fixtures.json. Deterministic: all data comes from numpy's PCG64 with fixed seeds and
is stored in the fixture next to the expected values, so the TypeScript tests use the same inputs.

    python3 scripts/stats-fixtures.py

Where SciPy has no function (R's wilcox.test shift interval, delta-method lifts, CUPED, the sequential
e-values) the value is computed here by formula in NumPy/SciPy.special, independently of the TypeScript.
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import optimize, special, stats

rng = np.random.default_rng(20260101)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "stats", "fixtures.json")


def lst(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def distributions():
    xs = [-38.0, -12.0, -8.0, -5.5, -3.0, -1.959963984540054, -1.0, -0.3, 0.0, 0.25, 1.0, 2.5, 4.0, 7.0, 9.0]
    ps = [1e-300, 1e-100, 1e-20, 1e-10, 1e-6, 0.001, 0.01, 0.025, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975, 0.99, 0.999, 1 - 1e-9]
    normal = {
        "x": xs,
        "cdf": lst(stats.norm.cdf(xs)),
        "sf": lst(stats.norm.sf(xs)),
        "p": ps,
        "ppf": lst(stats.norm.ppf(ps)),
    }
    t_cases = []
    for df in [1, 2, 3, 4.5, 10, 29.7, 100, 1e4, 1e6]:
        tx = [-50.0, -6.0, -2.0, -0.5, 0.0, 0.7, 1.5, 3.0, 10.0, 200.0]
        tp = [1e-12, 1e-6, 0.001, 0.025, 0.2, 0.5, 0.6, 0.9, 0.975, 0.995, 0.9999]
        t_cases.append({
            "df": df, "x": tx, "cdf": lst(stats.t.cdf(tx, df)), "sf": lst(stats.t.sf(tx, df)),
            "p": tp, "ppf": lst(stats.t.ppf(tp, df)),
        })
    chi_cases = []
    for df in [1, 2, 3, 7.5, 20, 100, 1000]:
        cx = [1e-6, 0.01, 0.5, 1.0, 3.841458820694124, 10.0, 25.0, 80.0, 150.0, 1200.0]
        cp = [1e-10, 0.001, 0.05, 0.5, 0.95, 0.999, 1 - 1e-9]
        chi_cases.append({
            "df": df, "x": cx, "cdf": lst(stats.chi2.cdf(cx, df)), "sf": lst(stats.chi2.sf(cx, df)),
            "p": cp, "ppf": lst(stats.chi2.ppf(cp, df)),
        })
    special_cases = {
        "gammaln": [[x, float(special.gammaln(x))] for x in [0.1, 0.5, 1.0, 1.5, 2.0, 7.3, 50.0, 1e4, 1e7]],
        "gammainc": [[a, x, float(special.gammainc(a, x)), float(special.gammaincc(a, x))]
                     for a in [0.5, 1.0, 3.3, 25.0, 400.0] for x in [0.01, 0.9, 3.0, 24.0, 390.0, 900.0]],
        "betainc": [[x, a, b, float(special.betainc(a, b, x))]
                    for (a, b) in [(0.5, 0.5), (1, 3), (2.5, 7.0), (40, 60), (500, 0.5), (3000, 2000)]
                    for x in [1e-4, 0.1, 0.4, 0.6, 0.95, 0.9999]],
    }
    return {"normal": normal, "t": t_cases, "chi2": chi_cases, "special": special_cases}


def quantile_cases():
    data = rng.lognormal(3.0, 1.0, 37)
    ps = [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]
    ties = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], dtype=float)
    return [
        {"data": lst(data), "p": ps, "expected": lst(np.quantile(data, ps)),
         "mean": float(np.mean(data)), "variance": float(np.var(data, ddof=1))},
        {"data": lst(ties), "p": ps, "expected": lst(np.quantile(ties, ps)),
         "mean": float(np.mean(ties)), "variance": float(np.var(ties, ddof=1))},
    ]


def r_shift_interval(x, y, conf):
    """R's wilcox.test(x, y, conf.int=TRUE, exact=FALSE, correct=TRUE) interval and estimate,
    with exact root finding instead of uniroot(tol=1e-4)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    nx, ny = len(x), len(y)
    mumin, mumax = x.min() - y.max(), x.max() - y.min()

    def wdiff(d, zq):
        dr = stats.rankdata(np.concatenate([x - d, y]))
        _, counts = np.unique(dr, return_counts=True)
        dz = dr[:nx].sum() - nx * (nx + 1) / 2 - nx * ny / 2
        corr = np.sign(dz) * 0.5
        sigma = math.sqrt((nx * ny / 12) * ((nx + ny + 1) - np.sum(counts ** 3 - counts) / ((nx + ny) * (nx + ny - 1))))
        return (dz - corr) / sigma - zq

    def root(zq):
        fl, fu = wdiff(mumin, zq), wdiff(mumax, zq)
        if fl <= 0:
            return mumin
        if fu >= 0:
            return mumax
        # wdiff is a decreasing step function: bisect to the jump.
        lo, hi = mumin, mumax
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            f = wdiff(mid, zq)
            if f > 0:
                lo = mid
            elif f < 0:
                hi = mid
            else:
                return mid
        return 0.5 * (lo + hi)

    alpha = 1 - conf
    zq = stats.norm.ppf(1 - alpha / 2)
    return {"lower": root(zq), "upper": root(-zq), "estimate": root(0.0)}


def mann_whitney_cases():
    pairs = [
        ("normal-shift", rng.normal(0.4, 1, 20), rng.normal(0, 1, 25)),
        ("small", rng.normal(0, 1, 5), rng.normal(1, 1, 7)),
        ("poisson-ties", rng.poisson(3.3, 40).astype(float), rng.poisson(3.0, 35).astype(float)),
        ("lognormal-large", rng.lognormal(4.7, 0.5, 300), rng.lognormal(4.6, 0.5, 280)),
        ("rates-many-ties", np.round(rng.binomial(200, 0.02, 60) / 200, 3), np.round(rng.binomial(200, 0.01, 60) / 200, 3)),
        ("identical-dist", rng.normal(10, 2, 50), rng.normal(10, 2, 50)),
    ]
    out = []
    for name, x, y in pairs:
        case = {"name": name, "x": lst(x), "y": lst(y)}
        for alt in ["two-sided", "greater", "less"]:
            r = stats.mannwhitneyu(x, y, alternative=alt, use_continuity=True, method="asymptotic")
            case[alt] = {"u": float(r.statistic), "pValue": float(r.pvalue)}
        case["interval98"] = r_shift_interval(x, y, 0.98)
        case["interval95"] = r_shift_interval(x, y, 0.95)
        out.append(case)
    return out


def welch_cases():
    out = []
    for (nc, nt, mc, mt, sc, st) in [(50, 60, 10, 11, 2, 3), (12, 9, 0.0, 0.5, 1, 4), (1000, 900, 100, 103, 30, 33)]:
        c = np.round(rng.normal(mc, sc, nc), 4)
        t = np.round(rng.normal(mt, st, nt), 4)
        r = stats.ttest_ind(t, c, equal_var=False)
        ci = r.confidence_interval(0.95)
        # Relative lift by the delta method.
        mC, mT = c.mean(), t.mean()
        vC, vT = c.var(ddof=1), t.var(ddof=1)
        lift = mT / mC - 1 if mC != 0 else float("nan")
        vl = vT / (nt * mC ** 2) + mT ** 2 * vC / (nc * mC ** 4) if mC != 0 else float("nan")
        out.append({
            "control": lst(c), "treatment": lst(t),
            "t": float(r.statistic), "pValue": float(r.pvalue), "df": float(r.df),
            "lower": float(ci.low), "upper": float(ci.high),
            "lift": lift, "liftSe": math.sqrt(vl) if vl == vl else float("nan"),
        })
    return out


def proportion_cases():
    out = []
    z975 = stats.norm.ppf(0.975)
    for (nc, sc, nt, st) in [(10000, 500, 10000, 580), (2000, 40, 1900, 35), (50000, 12000, 49000, 12100)]:
        pc, pt = sc / nc, st / nt
        pooled = (sc + st) / (nc + nt)
        z = (pt - pc) / math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nt))
        se = math.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
        vl = pt * (1 - pt) / (nt * pc ** 2) + pt ** 2 * pc * (1 - pc) / (nc * pc ** 4)
        out.append({
            "control": {"n": nc, "successes": sc}, "treatment": {"n": nt, "successes": st},
            "z": z, "pValue": float(2 * stats.norm.sf(abs(z))),
            "diffLower": pt - pc - z975 * se, "diffUpper": pt - pc + z975 * se,
            "lift": pt / pc - 1, "liftLower": pt / pc - 1 - z975 * math.sqrt(vl), "liftUpper": pt / pc - 1 + z975 * math.sqrt(vl),
        })
    return out


def ratio_cases():
    out = []
    for lift in [0.0, 0.08]:
        def arm(n, extra):
            sessions = rng.poisson(3, n) + 1
            revenue = np.round(rng.gamma(2.0, 5.0 * (1 + extra), n) * sessions, 2)
            return revenue, sessions.astype(float)
        yc, xc = arm(1500, 0.0)
        yt, xt = arm(1600, lift)

        def est(y, x):
            n = len(y)
            mx, my = x.mean(), y.mean()
            cov = np.cov(y, x, ddof=1)
            v = (cov[0, 0] / mx ** 2 - 2 * my * cov[0, 1] / mx ** 3 + my ** 2 * cov[1, 1] / mx ** 4) / n
            return my / mx, v
        rc, vc = est(yc, xc)
        rt, vt = est(yt, xt)
        vl = vt / rc ** 2 + rt ** 2 * vc / rc ** 4
        out.append({
            "numC": lst(yc), "denC": lst(xc), "numT": lst(yt), "denT": lst(xt),
            "ratioC": rc, "ratioT": rt, "diffSe": math.sqrt(vc + vt), "lift": rt / rc - 1, "liftSe": math.sqrt(vl),
            "liftP": float(2 * stats.norm.sf(abs((rt / rc - 1) / math.sqrt(vl)))),
        })
    return out


def cuped_cases():
    n_c, n_t = 800, 900
    xc = np.round(rng.normal(50, 10, n_c), 3)
    xt = np.round(rng.normal(50, 10, n_t), 3)
    yc = np.round(0.8 * xc + rng.normal(0, 6, n_c), 3)
    yt = np.round(0.8 * xt + 0.9 + rng.normal(0, 6, n_t), 3)
    x_all = np.concatenate([xc, xt])
    y_all = np.concatenate([yc, yt])
    theta = np.cov(y_all, x_all, ddof=1)[0, 1] / np.var(x_all, ddof=1)
    ac = yc - theta * (xc - x_all.mean())
    at = yt - theta * (xt - x_all.mean())
    r = stats.ttest_ind(at, ac, equal_var=False)
    raw = stats.ttest_ind(yt, yc, equal_var=False)
    adj_all = y_all - theta * (x_all - x_all.mean())
    return [{
        "yC": lst(yc), "xC": lst(xc), "yT": lst(yt), "xT": lst(xt), "theta": float(theta),
        "meanC": float(ac.mean()), "meanT": float(at.mean()), "varC": float(ac.var(ddof=1)), "varT": float(at.var(ddof=1)),
        "t": float(r.statistic), "pValue": float(r.pvalue), "df": float(r.df), "rawPValue": float(raw.pvalue),
        "varianceReduction": float(1 - adj_all.var(ddof=1) / y_all.var(ddof=1)),
    }]


def srm_cases():
    out = []
    for obs, w in [([5000, 5400], [0.5, 0.5]), ([9480, 520], [95, 5]), ([3300, 3400, 3250], [1, 1, 1]), ([950, 50], [0.9, 0.1])]:
        total = sum(obs)
        exp = [total * x / sum(w) for x in w]
        r = stats.chisquare(obs, exp)
        out.append({"observed": obs, "weights": w, "chiSquare": float(r.statistic), "pValue": float(r.pvalue)})
    return out


def adjustment_cases():
    out = []
    for ps in [[0.01, 0.04, 0.03], lst(rng.uniform(0, 0.2, 12)), [0.5, 0.5, 0.001, 0.02, 0.9, 0.049]]:
        p = np.asarray(ps, float)
        m = len(p)
        order = np.argsort(p, kind="stable")
        holm = np.empty(m)
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p[i]))
            holm[i] = running
        out.append({"p": lst(p), "holm": lst(holm), "bh": lst(stats.false_discovery_control(p, method="bh"))})
    return out


def sequential_cases():
    mult = []
    for counts, shares, c in [([50, 50], [0.5, 0.5], 10), ([40, 12], [0.95, 0.05], 10), ([300, 410, 290], [1, 1, 1], 5),
                              ([9500, 520], [0.95, 0.05], 100), ([0, 0], [0.5, 0.5], 10)]:
        th = np.asarray(shares, float) / sum(shares)
        a = c * th
        x = np.asarray(counts, float)
        log_e = (special.gammaln(c) - special.gammaln(c + x.sum()) + np.sum(special.gammaln(a + x) - special.gammaln(a))
                 - np.sum(np.where(x > 0, x * np.log(th), 0.0)))
        mult.append({"counts": counts, "shares": shares, "concentration": c, "logEValue": float(log_e)})
    one_sided = []
    for x, n, th0, c in [(70, 100, 0.5, 10), (30, 100, 0.5, 10), (12, 52, 0.05, 10), (130, 240, 0.5, 4), (0, 0, 0.5, 10)]:
        a, b = c * th0, c * (1 - th0)
        post = special.betaincc(a + x, b + n - x, th0)
        prior = special.betaincc(a, b, th0)
        log_e = (special.betaln(a + x, b + n - x) - special.betaln(a, b) + math.log(post) - math.log(prior)
                 - x * math.log(th0) - (n - x) * math.log1p(-th0))
        one_sided.append({"x": x, "n": n, "theta0": th0, "concentration": c, "logEValue": float(log_e)})
    means = []
    for (nc, mc, vc, nt, mt, vt, alpha, tuning, tau) in [(10000, 10.0, 4.0, 10000, 10.2, 4.0, 0.05, 5000, 0.1),
                                                          (400, 4.6, 0.25, 380, 4.85, 0.27, 0.01, 2000, 0.2)]:
        v = vc / nc + vt / nt
        d = mt - mc
        ntot = nc + nt
        rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning
        s2 = ntot * v
        # GrowthBook's form of the asymptotic confidence sequence half-width.
        half_cs = math.sqrt(s2) * math.sqrt((2 * (ntot * rho2 + 1)) / (ntot ** 2 * rho2) * math.log(math.sqrt(ntot * rho2 + 1) / alpha))
        tau2 = tau * tau
        log_lr = 0.5 * math.log(v / (v + tau2)) + tau2 * d * d / (2 * v * (v + tau2))
        half_m = math.sqrt(v * (v + tau2) / tau2 * math.log((v + tau2) / (v * alpha * alpha)))
        v_rel = vt / (nt * mc ** 2) + mt ** 2 * vc / (nc * mc ** 4)
        s2_rel = ntot * v_rel
        half_rel = math.sqrt(s2_rel) * math.sqrt((2 * (ntot * rho2 + 1)) / (ntot ** 2 * rho2) * math.log(math.sqrt(ntot * rho2 + 1) / alpha))
        means.append({"control": {"n": nc, "mean": mc, "variance": vc}, "treatment": {"n": nt, "mean": mt, "variance": vt},
                      "alpha": alpha, "tuning": tuning, "mixingSd": tau, "csHalfWidth": half_cs,
                      "liftHalfWidth": half_rel, "lift": mt / mc - 1,
                      "logLikelihoodRatio": log_lr, "msprtHalfWidth": half_m})
    return {"multinomial": mult, "oneSided": one_sided, "means": means}


def main():
    fixtures = {
        "generatedBy": "scripts/stats-fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "distributions": distributions(),
        "quantiles": quantile_cases(),
        "mannWhitney": mann_whitney_cases(),
        "welch": welch_cases(),
        "proportions": proportion_cases(),
        "ratio": ratio_cases(),
        "cuped": cuped_cases(),
        "srm": srm_cases(),
        "adjustments": adjustment_cases(),
        "sequential": sequential_cases(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixtures, f, indent=None, separators=(",", ":"), allow_nan=True)
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
