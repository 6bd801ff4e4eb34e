"""Stated non-response counted in arrays gives the former per-case loops' numbers exactly."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

import sampling
from survey_service.results import estimates, respondents
from survey_service.results.nonresponse import UnitNonresponse, nonresponse
from survey_service.results.respondents import Respondent, WaveData
from tests.results.test_exports import build_wave


def _former(data, codes):
    """``results.nonresponse.nonresponse`` as it was before (28de9d0), the oracle."""
    if not codes or not data.population:
        return {}
    eligible = {cid: v for cid, v in codes.items() if sampling.CODE_GROUP.get(v[2], "UH") != "NE"}
    scored = {r.case_id for r in data.scored}
    sampled = defaultdict(int)
    kinds = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for cid, (unit, stratum, _code) in eligible.items():
        sampled[(unit, stratum)] += 1
        cell = kinds[unit][stratum]
        cell[1] += 1
        cell[0] += cid in scored
    for r in data.scored:
        sampled.setdefault((r.unit, r.stratum), 0)
        if sampled[(r.unit, r.stratum)] < 1:
            sampled[(r.unit, r.stratum)] = 1
    bounds = sampling.nonresponse_bounds(
        np.array([r.score for r in data.scored], dtype=float),
        np.array([r.unit for r in data.scored]),
        np.array([r.stratum for r in data.scored]),
        data.population,
        dict(sampled),
    )
    ids = sorted(eligible)
    with np.errstate(invalid="ignore", divide="ignore"):
        ri = sampling.r_indicator(
            np.array([cid in scored for cid in ids]),
            np.array([eligible[cid][0] for cid in ids]),
            np.array([eligible[cid][1] for cid in ids]),
        )
    r_by = {str(d): float(v) for d, v in zip(ri.domain.tolist(), ri.r.tolist(), strict=True)}
    out = {}
    for i, unit in enumerate(bounds.domain.tolist()):
        cells = kinds.get(str(unit), {})
        out[str(unit)] = UnitNonresponse(
            cases=int(sum(c[1] for c in cells.values())),
            answered=int(sum(c[0] for c in cells.values())),
            r_indicator=r_by.get(str(unit), math.nan),
            bound_low=float(bounds.low[i]),
            bound_high=float(bounds.high[i]),
            nonresponse_share=float(bounds.nonresponse_share[i]),
            by_kind={k: (c[0], c[1]) for k, c in sorted(cells.items())},
        )
    return out


def _same(got: dict, expected: dict) -> None:
    """Equal to the last bit (NaN where NaN), dict order of by_kind included."""
    assert list(got) == list(expected)
    for code, want in expected.items():
        have = got[code]
        assert list(have.by_kind.items()) == list(want.by_kind.items()), code
        for field in ("cases", "answered", "r_indicator", "bound_low", "bound_high"):
            a, b = getattr(have, field), getattr(want, field)
            assert type(a) is type(b) and (a == b or (a != a and b != b)), (code, field, a, b)
        assert repr(have.nonresponse_share) == repr(want.nonresponse_share)


def _synthetic(seed: int) -> tuple[WaveData, dict]:
    """A district of 60 units, two kinds each, random AAPOR codes (NE, UH, None included)."""
    rng = random.Random(seed)
    strata, codes, people = {}, {}, []
    case_id = 0
    for u in range(60):
        unit = f"U{u:03d}"
        for kind in ("群众", "企业"):
            label = f"{unit}/{kind}"
            strata[label] = {"unit": unit, "N": rng.randint(5, 200)}
            for _ in range(rng.randint(0, 12)):
                case_id += rng.randint(1, 3)  # ids with gaps, given out of order below
                code = rng.choice(["1.1", "1.1", "1.2", "2.11", "3.13", "4.31", "4.70", "UH"])
                codes[case_id] = (unit, label, code)
                if code in ("1.1", "1.2"):
                    score = None if rng.random() < 0.1 else rng.choice([0.0, 3.3, 6.5, 10.0])
                    people.append(Respondent(case_id, f"p{case_id}", unit, label, code, {}, score))
    # a respondent whose stratum has no released case left (the guard's case)
    people.append(Respondent(10**6, "late", "U000", "U000/企业", "1.1", {}, 8.0))
    shuffled = list(codes.items())
    rng.shuffle(shuffled)
    data = WaveData(
        wave=None,
        script=None,
        draw=SimpleNamespace(design={"strata": strata}),
        units=[],
        respondents=sorted(people, key=lambda r: (r.unit, r.case_id)),
    )
    return data, dict(shuffled)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_arrays_give_the_former_numbers_on_a_synthetic_district(seed):
    """Do the arrays give every unit's counts, R-indicator and bounds as the loops did?"""
    data, codes = _synthetic(seed)
    expected = _former(data, codes)
    assert len(expected) == 60
    _same(nonresponse(data, codes), expected)


def test_arrays_give_the_former_numbers_on_a_built_wave(session):
    """On the exports' wave built through the services, are the stated figures unchanged?"""
    wave = build_wave(session)
    data = respondents.load_wave(session, wave)
    codes = estimates.case_dispositions(session, data.draw)
    expected = _former(data, codes)
    assert set(expected) == {"A", "B", "C", "D"}
    _same(nonresponse(data, codes), expected)


def test_only_ineligible_cases():
    """With every case found ineligible and no respondent, the former results (no crash)?"""
    data, codes = _synthetic(4)
    data = replace(data, respondents=[])
    codes = {cid: (u, h, "4.70") for cid, (u, h, _c) in codes.items()}
    expected = _former(data, codes)
    assert expected and all(u.cases == 0 for u in expected.values())
    _same(nonresponse(data, codes), expected)


def test_bounds_sums_as_the_loop_and_the_same_errors():
    """Does nonresponse_bounds' array lookup sum as its loop did, and refuse the same row?"""
    rng = np.random.default_rng(5)
    units = np.array([f"u{i}" for i in rng.integers(0, 40, 3000)])
    kinds = np.array(rng.choice(["a", "b", "c"], 3000))
    y = rng.uniform(0, 10, 3000)
    y[::17] = np.nan
    population = {(f"u{i}", k): 50 for i in range(40) for k in ("a", "b", "c")}
    got = sampling.nonresponse_bounds(y, units, kinds, population, {})
    # the same through the loop: integer labels of another kind take it
    codes = {name: i for i, name in enumerate(sorted({u for u, _k in population}))}
    looped = sampling.nonresponse_bounds(
        y,
        np.array([codes[u] for u in units]),
        kinds,
        {(codes[u], k): n for (u, k), n in population.items()},
        {},
    )
    assert got.low.tobytes() == looped.low.tobytes()
    assert got.high.tobytes() == looped.high.tobytes()
    with pytest.raises(sampling.SamplingError, match=r"respondent in \('u1', 'z'\)"):
        sampling.nonresponse_bounds([5.0, 6.0], ["u0", "u1"], ["a", "z"], population, {})
