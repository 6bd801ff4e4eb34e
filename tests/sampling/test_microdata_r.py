"""Microdata columns that R reads right: R survey re-estimates every unit to 1e-9."""

import csv
import shutil
import subprocess

import numpy as np
import pytest

from sampling import domain_means
from sampling.microdata import COLUMNS, data_dictionary, design_columns, r_script, stata_do


def _data():
    rng = np.random.default_rng(1616)
    units = [f"U{i:02d}" for i in range(8)]
    rows = []
    pop = {}
    for i, u in enumerate(units):
        for kind in ("群众", "企业"):
            n = int(rng.integers(1, 25)) if kind == "企业" else int(rng.integers(5, 40))
            if i == 0 and kind == "企业":
                n = 1  # a thin sub-stratum: collapsed for variance
            pop[(u, kind)] = n + int(rng.integers(0, 300)) if i != 1 else n  # U01: census
            rows += [(u, kind, float(rng.integers(0, 11))) for _ in range(n)]
    y = np.array([r[2] for r in rows])
    dom = np.array([r[0] for r in rows])
    y[(rng.random(y.size) < 0.05) & (dom != "U01")] = np.nan  # 说不清: empty, never zero
    kind = np.array([r[1] for r in rows])
    return y, dom, kind, pop


def test_design_columns_by_hand():
    d = design_columns(
        [7.0, 9.0, np.nan, 5.0], ["u"] * 4, ["a", "a", "a", "b"], {("u", "a"): 40, ("u", "b"): 10}
    )
    # 'b' has one respondent: collapsed with 'a' for variance (N = 50, r = 3); df = 3 - 1
    assert d.weight[[0, 1, 3]].tolist() == [20.0, 20.0, 10.0] and np.isnan(d.weight[2])
    assert d.vstrat.tolist() == ["u|a+b", "u|a+b", "", "u|a+b"]
    assert d.N_vstrat[[0, 1, 3]].tolist() == [50.0] * 3
    assert d.f_vstrat[[0, 1, 3]].tolist() == [3 / 50] * 3
    assert d.df[[0, 1, 3]].tolist() == [2.0] * 3 and np.isnan(d.df[2])
    assert "| N_vstrat | Population size" in data_dictionary()
    do = stata_do("micro.csv")
    assert "fpc(N_vstrat)" in do and "pweight=weight" in do


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_r_survey_reproduces_every_unit(tmp_path):
    y, dom, kind, pop = _data()
    des = design_columns(y, dom, kind, pop)
    path = tmp_path / "micro.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow([COLUMNS[k] for k in COLUMNS])
        for i in range(y.size):
            ok = not np.isnan(y[i])
            out.writerow(
                [dom[i], kind[i], des.vstrat[i]]
                + [
                    repr(float(v[i])) if ok else ""
                    for v in (des.weight, des.N_vstrat, des.f_vstrat)
                ]
                + [int(des.df[i]) if ok else "", repr(float(y[i])) if ok else ""]
            )
    (tmp_path / "estimate.R").write_text(r_script("micro.csv"), encoding="utf-8")
    run = subprocess.run(
        ["Rscript", "estimate.R"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    with (tmp_path / "estimates_r.csv").open(encoding="utf-8") as f:
        r_rows = {row["unit"]: row for row in csv.DictReader(f)}
    est = domain_means(y, dom, kind, pop)
    assert sorted(r_rows) == est.domain.tolist()
    assert set(est.method.tolist()) == {"taylor", "census"} and est.collapsed[0]
    for i, u in enumerate(est.domain.tolist()):
        r = r_rows[u]
        assert int(r["n"]) == est.n[i] and float(r["df"]) == est.df[i]
        assert float(r["mean"]) == pytest.approx(est.mean[i], abs=1e-9)
        assert float(r["se"]) == pytest.approx(est.se[i], abs=1e-9)
        assert min(max(float(r["ci_low"]), 0.0), 10.0) == pytest.approx(est.ci_low[i], abs=1e-9)
        assert min(float(r["ci_high"]), 10.0) == pytest.approx(est.ci_high[i], abs=1e-9)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_r_takes_one_minus_f_as_a_fraction(tmp_path):
    """Why the column is the population size: 1 - f given as fpc= gives other SEs."""
    y, dom, kind, pop = _data()
    des = design_columns(y, dom, kind, pop)
    ok = ~np.isnan(y) & (dom == "U03")
    path = tmp_path / "m.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["vstrat", "weight", "N", "one_minus_f", "score"])
        for i in np.flatnonzero(ok):
            out.writerow([des.vstrat[i], des.weight[i], des.N_vstrat[i], 1 - des.f_vstrat[i], y[i]])
    script = (
        "library(survey); d <- read.csv('m.csv')\n"
        "a <- svydesign(ids=~1, strata=~vstrat, weights=~weight, fpc=~N, data=d)\n"
        "b <- svydesign(ids=~1, strata=~vstrat, weights=~weight, fpc=~one_minus_f, data=d)\n"
        "cat(sprintf('%.17g %.17g', SE(svymean(~score, a)), SE(svymean(~score, b))))\n"
    )
    (tmp_path / "f.R").write_text(script, encoding="utf-8")
    run = subprocess.run(["Rscript", "f.R"], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    right, wrong = (float(v) for v in run.stdout.split())
    est = domain_means(y, dom, kind, pop)
    assert right == pytest.approx(est.se[3], abs=1e-12)
    assert abs(wrong - right) > 0.01
