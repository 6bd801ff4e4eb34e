"""The exported microdata bundle, run through R's survey package, reproduces the figures."""

from __future__ import annotations

import csv
import io
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
