"""The exported microdata bundle, run through R's survey package, reproduces the figures."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile

import pytest

from survey_service.results import estimates as results
from survey_service.results import exports
from tests.results.test_exports import build_wave

RSCRIPT = shutil.which("Rscript")


def _has_survey() -> bool:
    if RSCRIPT is None:
        return False
    done = subprocess.run(
        [RSCRIPT, "-e", "library(survey)"], capture_output=True, timeout=120, check=False
    )
    return done.returncode == 0


@pytest.fixture
def wave(session):
    return build_wave(session)


@pytest.mark.skipif(not _has_survey(), reason="Rscript with package survey not installed")
def test_r_script_reproduces_every_unit_to_1e9(session, wave, tmp_path):
    """Does the shipped R script on the shipped CSV give each unit's mean, SE, interval, df?"""
    export = exports.microdata_bundle_export(session, wave)
    with zipfile.ZipFile(io.BytesIO(export.data)) as archive:
        archive.extractall(tmp_path)
    assert export.rows == 30
    done = subprocess.run(
        [RSCRIPT, "load_microdata.R"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "estimates_r.csv", encoding="utf-8") as handle:
        theirs = {row["unit"]: row for row in csv.DictReader(handle)}
    published = {u.code: u for u in results.unit_results(session, wave)}
    assert sorted(theirs) == ["A", "B", "C", "D"]
    for code, row in theirs.items():
        unit = published[code]
        assert unit.method in ("taylor", "census"), code
        assert int(row["n"]) == unit.n
        assert float(row["df"]) == unit.df
        for name, mine in (
            ("mean", unit.mean),
            ("se", unit.se),
            ("ci_low", unit.ci_low),
            ("ci_high", unit.ci_high),
        ):
            assert float(row[name]) == pytest.approx(mine, abs=1e-9), (code, name)
    assert published["C"].method == "census" and float(theirs["C"]["se"]) == 0.0
    # the interval the R script computes is R's own confint() on the exported df
    assert float(theirs["A"]["se"]) > 0


def _stata_variables(do: str) -> set[str]:
    """Every dataset variable the do-file reads (comments left out)."""
    code = "\n".join(line for line in do.splitlines() if not line.lstrip().startswith("*"))
    names: set[str] = set()
    for pattern in (
        r"^destring (.+), replace$",
        r"missing\((\w+)\)",
        r"^levelsof (\w+),",
        r"keep if (\w+) ==",
        r"scalar \w+ = (\w+)\[1\]",
        r"\[pweight=(\w+)\]",
        r"strata\((\w+)\)",
        r"fpc\((\w+)\)",
        r": mean (\w+)$",
        r"_(?:b|se)\[(\w+)\]",
    ):
        for found in re.findall(pattern, code, re.M):
            names.update(found.split())
    return names


def test_stata_do_file_reads_the_shipped_csv_as_the_design_needs(session, wave, tmp_path):
    """Stata is not installable here: does the do-file, read as text, use only columns the
    CSV and the dictionary have, svyset the variance stratum, the weights and the population
    size as fpc, and the exported df?"""
    export = exports.microdata_bundle_export(session, wave)
    with zipfile.ZipFile(io.BytesIO(export.data)) as archive:
        do = archive.read("load_microdata.do").decode("ascii")
        raw = archive.read("microdata.csv")
        dictionary = archive.read("dictionary.md").decode("utf-8")
    assert not raw.startswith("\ufeff".encode())  # a BOM would become part of a name
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    header = list(rows[0])
    documented = set(re.findall(r"^\| (\w+) \|", dictionary, re.M)) - {"column"}
    used = _stata_variables(do)
    assert used == {"unit", "vstrat", "weight", "N_vstrat", "f_vstrat", "df", "score"}
    assert used <= set(header) and used <= documented
    # mixed-case names survive only with case(preserve); the file is read as UTF-8 text
    assert 'encoding("utf-8") case(preserve) stringcols(_all)' in do
    svyset = re.findall(r"^\s*svyset (.+)$", do, re.M)
    assert svyset == ["_n [pweight=weight], strata(vstrat) fpc(N_vstrat)"]
    assert "scalar dof = df[1]" in do and "svy, dof(`=scalar(dof)'): mean score" in do
    assert (
        "invttail(scalar(dof), 0.025)" in do
        and 'export delimited using "estimates_stata.csv"' in do
    )
    # what those columns hold: N_vstrat is a population size (constant within the stratum,
    # N * f = the stratum's respondents), the weights add up to the unit's population, df is
    # the published df
    scored = [r for r in rows if r["score"]]
    published = {u.code: u for u in results.unit_results(session, wave)}
    by_vstrat: dict[str, list[dict]] = {}
    for r in scored:
        by_vstrat.setdefault(r["vstrat"], []).append(r)
    for label, members in by_vstrat.items():
        sizes = {float(r["N_vstrat"]) for r in members}
        assert len(sizes) == 1 and min(sizes) > 1, label
        assert {r["unit"] for r in members} == {members[0]["unit"]}, label
        f = float(members[0]["f_vstrat"])
        assert f * float(members[0]["N_vstrat"]) == pytest.approx(len(members), abs=1e-9)
    for code, unit in published.items():
        mine = [r for r in scored if r["unit"] == code]
        population = sum({r["vstrat"]: float(r["N_vstrat"]) for r in mine}.values())
        assert sum(float(r["weight"]) for r in mine) == pytest.approx(population, rel=1e-12)
        assert {float(r["df"]) for r in mine} == {unit.df}, code
    assert "| N_vstrat | Population size of the variance stratum" in dictionary
