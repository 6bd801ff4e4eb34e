"""Non-response, stated per unit: response by kind, R-indicator, bounds, RR4, never dialled."""

from __future__ import annotations

import numpy as np
import pytest

from survey_service.results import estimates as results
from survey_service.results.respondents import load_wave
from tests.results.test_exports import build_wave


@pytest.fixture
def wave(session):
    return build_wave(session)


def _by_stratum(data, code):
    out: dict[str, list[float]] = {}
    for r in data.scored:
        if r.unit == code:
            out.setdefault(r.stratum, []).append(r.score)
    return out


def test_bounds_r_indicator_and_response_by_kind(session, wave):
    rows = {r.code: r for r in results.unit_results(session, wave)}
    data = load_wave(session, wave)
    assert {c: r.response_by_kind for c, r in rows.items()} == {
        "A": "企业 3/3；群众 4/5",
        "B": "群众 6/8",
        "C": "群众 6/6",
        "D": "企业 1/4；群众 4/4",
    }
    # A by hand: N 12 (群众) and 8 (企业); m_h 5 and 3; the non-respondent at 0 or at 10
    a = _by_stratum(data, "A")
    mass = sum(a["A/群众"]) / 5 * 12 + sum(a["A/企业"]) / 3 * 8
    assert rows["A"].bound_low == pytest.approx(mass / 20, abs=1e-12)
    assert rows["A"].bound_high == pytest.approx((mass + 10 * 12 / 5) / 20, abs=1e-12)
    assert rows["A"].bound_low <= rows["A"].mean <= rows["A"].bound_high
    assert rows["A"].nonresponse_share == pytest.approx(12 / 20 * 1 / 5, abs=1e-12)
    # C answered in full: the bounds close on the score, response is representative
    assert rows["C"].bound_low == rows["C"].bound_high == pytest.approx(rows["C"].mean)
    assert rows["C"].r_indicator == 1.0 and rows["B"].r_indicator == 1.0
    # D: 企业 1/4 against 群众 4/4: propensities 0.25 and 1 over 8 cases
    rho = np.array([0.25] * 4 + [1.0] * 4)
    expected = 1 - 2 * float(np.sqrt(np.sum((rho - rho.mean()) ** 2) / 7))
    assert rows["D"].r_indicator == pytest.approx(expected, abs=1e-12)
    # every released case was dialled; RR4 counts partials (none here) as RR3 does
    assert all(r.not_dialled == 0 for r in rows.values())
    assert all(r.rr4 == pytest.approx(r.rr3) for r in rows.values())
    header = results.RESULT_HEADER
    table = {
        row[0]: dict(zip(header, row, strict=True))
        for row in results.results_table(list(rows.values()))[1]
    }
    assert table["D"]["各类服务对象应答(有效/样本)"] == "企业 1/4；群众 4/4"
    assert table["A"]["从未拨打的已发放样本"] == 0
    assert table["D"]["R指标"] == round(expected, 4)
