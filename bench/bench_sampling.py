"""Benchmark of sampling/: draw, domain estimation and rank probabilities on a full-size design.

Run from the project root::

    .venv/bin/python bench/bench_sampling.py

One generated design: 330 units, frame sizes from 8 to 50,000 (1,000,000 clients, skewed), two
sub-strata (群众/企业) per unit, 100,000 respondents. Times the draw, domain_means for all
units, and rank_probabilities, and samplics' TaylorEstimator looped over the units on the same
weights (samplics is a test-only dependency); checks the numbers agree (exit 1 if not) and prints
the ratio. Targets: domain_means >= 50x faster than samplics; draw under 1 s. A missed timing
target is printed as MISSED TARGET and the run still exits 0 (a shared machine is noisy). The
respondents are timed in the order the draw leaves them (grouped by unit, the natural order)
and shuffled; the target uses the natural order. The machine may be shared, so the two
estimators are timed alternately and each keeps its best time.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sampling import (
    allocate,
    domain_means,
    draw,
    frame_hash,
    rank_probabilities,
    stratum_weights,
)

UNITS = 330
FRAME = 1_000_000
RESPONDENTS = 100_000
SEED = 20240601


def timed(fn, repeat: int = 1):
    """Run fn `repeat` times; return (last result, median seconds, min seconds)."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times), min(times)


def interleaved(fn_a, fn_b, rounds: int, inner_a: int = 1):
    """Alternate the two (the machine is shared: both see the same load); min seconds each.

    ``fn_a`` runs ``inner_a`` times per round and its time is the per-call average, so that a
    call of a few milliseconds is not dominated by timer and scheduler noise.
    """
    best_a = best_b = float("inf")
    res_a = res_b = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(inner_a):
            res_a = fn_a()
        best_a = min(best_a, (time.perf_counter() - t0) / inner_a)
        t0 = time.perf_counter()
        res_b = fn_b()
        best_b = min(best_b, time.perf_counter() - t0)
    return res_a, best_a, res_b, best_b


def frame_sizes(rng: np.random.Generator) -> np.ndarray:
    """Skewed unit sizes: min 8, max 50,000, total exactly 1,000,000."""
    raw = np.exp(rng.normal(0.0, 1.6, UNITS))
    lo, hi = 1e-3, 1e6
    for _ in range(200):  # bisection on the scale so the clipped sizes sum to ~FRAME
        c = (lo + hi) / 2
        total = np.clip(np.round(raw * c), 8, 50_000).sum()
        lo, hi = (c, hi) if total < FRAME else (lo, c)
    sizes = np.clip(np.round(raw * c), 8, 50_000).astype(np.int64)
    sizes[np.argmin(sizes)] = 8
    sizes[np.argmax(sizes)] = 50_000
    free = np.flatnonzero((sizes > 8) & (sizes < 50_000))
    gap = FRAME - sizes.sum()
    while gap != 0:  # spread the rounding gap over the unclipped units
        step = np.sign(gap) * np.minimum(abs(gap) // free.size + 1, 1)
        for i in free[: abs(gap)]:
            sizes[i] += step
        gap = FRAME - sizes.sum()
    return sizes


def _ranking_args(y, unit, kind, pop):
    est = domain_means(y, unit, kind, pop)
    return est.mean, est.se, est.df, (10, 15, 20), 10_000, SEED


def main() -> None:
    rng = np.random.default_rng(SEED)
    n_unit = frame_sizes(rng)
    n_ent = np.maximum(2, np.round(rng.uniform(0.05, 0.4, UNITS) * n_unit)).astype(np.int64)
    n_ent = np.minimum(n_ent, n_unit - 2)
    n_ppl = n_unit - n_ent
    pop_h = np.column_stack([n_ppl, n_ent]).ravel()  # stratum code = unit * 2 + kind
    frame_strata = np.repeat(np.arange(2 * UNITS), pop_h)
    keys = rng.permutation(FRAME).astype(np.int64) + 10_000_000  # client-list row ids

    sizes = np.empty(2 * UNITS, dtype=np.int64)
    per_unit = allocate(RESPONDENTS, n_unit, "proportional", minimum=30).sizes
    for u in range(UNITS):
        sizes[2 * u : 2 * u + 2] = allocate(
            int(per_unit[u]), [n_ppl[u], n_ent[u]], "proportional", minimum=2
        ).sizes

    d, t_draw, t_draw_min = timed(lambda: draw(frame_strata, sizes, SEED, 10, keys=keys), 3)
    _, t_hash, _ = timed(lambda: frame_hash(frame_strata, keys), 1)

    rows = np.flatnonzero(d.selected)
    strata = frame_strata[rows]
    unit = strata // 2
    kind = np.where(strata % 2 == 0, "群众", "企业")
    true_p = rng.beta(16, 3, UNITS)  # units' satisfaction crowding near the top
    y = rng.binomial(10, true_p[unit]).astype(float)
    y[rng.random(y.size) < 0.03] = np.nan  # 不了解/说不清: left out, never zero
    pop = (np.repeat(np.arange(UNITS), 2), np.tile(np.array(["群众", "企业"]), UNITS), pop_h)

    rp, t_rank, _ = timed(lambda: rank_probabilities(*_ranking_args(y, unit, kind, pop)), 3)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from samplics.estimation import TaylorEstimator
        from samplics.utils.types import PopParam

        ok = ~np.isnan(y)
        yv, uv, kv = y[ok], unit[ok], kind[ok]
        w = stratum_weights(uv, kv, pop)
        order = np.argsort(uv, kind="stable")
        bounds = np.searchsorted(uv[order], np.arange(UNITS + 1))
        parts = [order[bounds[i] : bounds[i + 1]] for i in range(UNITS)]

        def samplics_all():
            out = np.empty((UNITS, 4))
            for i, idx in enumerate(parts):
                e = TaylorEstimator(PopParam.mean, alpha=1 - 0.95)
                e.estimate(yv[idx], samp_weight=w.weight[idx], stratum=w.group[idx], fpc=w.fpc[idx])
                out[i] = (e.point_est, e.stderror, e.lower_ci, e.upper_ci)
            return out

        # respondents in the order the draw leaves them (frame order: grouped by unit) ...
        est, t_est, ref, t_ref = interleaved(
            lambda: domain_means(y, unit, kind, pop), samplics_all, rounds=7, inner_a=10
        )
        # ... and shuffled (no contiguous runs: the np.bincount path)
        mix = rng.permutation(y.size)
        ys, us, ks = y[mix], unit[mix], kind[mix]
        est_s, t_est_s, _, t_ref_s = interleaved(
            lambda: domain_means(ys, us, ks, pop), samplics_all, rounds=5, inner_a=10
        )
        same_order_free = np.allclose(est_s.se, est.se, rtol=0, atol=1e-12, equal_nan=True)

    taylor = est.method == "taylor"
    diff_mean = np.max(np.abs(est.mean - ref[:, 0]))
    diff_se = np.max(np.abs(est.se - ref[:, 1]))
    diff_ci = max(
        np.max(np.abs(est.ci_low - ref[:, 2])[taylor]),
        np.max(np.abs(est.ci_high - ref[:, 3])[taylor]),
    )
    ratio = t_ref / t_est
    ratio_s = t_ref_s / t_est_s
    methods = {str(m): int((est.method == m).sum()) for m in np.unique(est.method)}

    print()
    print("sampling/ benchmark  (time.perf_counter; median of repeats, [min]; the estimation")
    print("  comparison alternates domain_means and samplics and keeps each one's best time)")
    sizes_text = f"{n_unit.min()}..{n_unit.max():,}"
    print(
        f"  design: {UNITS} units, frame {n_unit.sum():,} (sizes {sizes_text},"
        f" median {int(np.median(n_unit)):,}), {2 * UNITS} sub-strata, "
        f"{rows.size:,} respondents ({int(ok.sum()):,} valid answers)"
    )
    print(f"  estimate methods: {methods}; collapsed units: {int(est.collapsed.sum())}")
    print()
    print(f"  {'step':<44}{'seconds':>10}{'':>12}")
    print(f"  {'-' * 66}")
    print(f"  {'draw (1,000,000 rows, 660 strata, keys)':<44}{t_draw:>10.3f}  [{t_draw_min:.3f}]")
    print(f"  {'frame_hash (1,000,000 rows)':<44}{t_hash:>10.3f}")
    print(f"  {'domain_means, rows grouped by unit':<44}{t_est:>10.4f}  (min of 7x10)")
    print(f"  {'domain_means, rows shuffled':<44}{t_est_s:>10.4f}  (min of 5x10)")
    print(f"  {'samplics TaylorEstimator x 330 (looped)':<44}{t_ref:>10.4f}  (min of 7)")
    print(f"  {'rank_probabilities (330 x 10,000 sims)':<44}{t_rank:>10.3f}")
    print(f"  {'-' * 66}")
    print(
        f"  speed ratio samplics / domain_means: {ratio:,.0f}x grouped, {ratio_s:,.0f}x shuffled"
        "  (target >= 50x)"
    )
    print(
        f"  max |diff| vs samplics: mean {diff_mean:.2e}, se {diff_se:.2e}, "
        f"CI {diff_ci:.2e} (taylor rows)"
    )
    worst = np.argsort(-rp.bottom[:, 0])[:3]
    print(
        "  most likely in the bottom 10: "
        + ", ".join(f"unit {i} ({rp.bottom[i, 0]:.2f})" for i in worst)
    )
    print()

    # Timing targets are reported, not asserted: the machine is shared and a noisy run must not
    # fail `make bench`. Disagreeing numbers are a bug, not noise, and still exit non-zero.
    missed = []
    if t_draw >= 1.0:
        missed.append(f"draw took {t_draw:.3f} s (target < 1 s)")
    if ratio < 50:
        missed.append(f"domain_means only {ratio:.0f}x faster than samplics (target >= 50x)")
    for text in missed:
        print(f"  MISSED TARGET: {text} (machine load?)")
    if not missed:
        print("  all timing targets met")
    if ratio_s < 50:
        print(f"  note: shuffled rows only {ratio_s:.0f}x (no target; the grouped order has one)")
    if not (diff_mean < 1e-9 and diff_se < 1e-9 and diff_ci < 1e-9):
        print("  FAILED: numbers differ from samplics by more than 1e-9")
        sys.exit(1)
    if not same_order_free:
        print("  FAILED: shuffling the rows changed the standard errors")
        sys.exit(1)


if __name__ == "__main__":
    main()
