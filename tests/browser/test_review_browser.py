"""Quality review in Chromium: a reviewer strikes a fabricated interview, the score moves."""

from __future__ import annotations

import pytest
from sqlmodel import select

from survey_service import dispositions as aapor
from survey_service.db import transaction
from survey_service.models import Case, QualityReview
from survey_service.results import estimates
from tests.browser.conftest import login
from tests.calls.conftest import reload
from tests.calls.test_quality import build_quality_world
from tests.factories import make_user


def _score(page, base_url, code: str) -> str:
    page.goto(f"{base_url}/statistics/results")
    return page.inner_text(f"#results tr[data-code='{code}'] td.score")


@pytest.mark.browser
def test_reviewer_strikes_a_fabricated_interview_and_the_score_moves(
    app, session, live_server, page
):
    # Three completes of one unit rated 10.0 (every rating the same: straight-lined,
    # the fabricated one), 7.0 and 4.5: the unit's mean is 21.5 / 3, then 11.5 / 2.
    world = build_quality_world(session)
    with transaction(session):
        make_user(session, username="root", role="admin")  # reviews and reads results
    fabricated = world["cases"][0]
    before, after = (10.0 + 7.0 + 4.5) / 3, (7.0 + 4.5) / 2
    [row] = estimates.unit_results(session, world["wave"])
    assert row.mean == pytest.approx(before)
    session.commit()
    login(page, live_server, "root")
    assert _score(page, live_server, "U001") == f"{before:.2f}" == "7.17"

    page.goto(f"{live_server}/supervision/review")
    page.click("#build-review")
    page.wait_for_selector(f"#reviews tr[data-case='{fabricated.id}']")
    page.click(f"#reviews tr[data-case='{fabricated.id}'] a")
    page.wait_for_selector("#verify-form")
    assert "无录音记录" in page.inner_text("#recording-ref")
    page.click("#reveal")
    page.wait_for_selector("#full-number:has-text('+86')")
    # The call-back: reached, says no call came that day, nobody asked the ratings.
    page.check("#q-reached input[value=yes]")
    page.check("#q-called_on_date input[value=no]")
    page.check("#q-caller input[value=unsure]")
    page.check("#q-answered_items input[value=no]")
    page.fill("#reason", "回访核实：受访者称未接到过电话")
    page.click("#strike")
    page.wait_for_selector("#review-status")
    assert "已作废" in page.inner_text("#review-status")
    assert "没有接到" in page.inner_text("#verification-answers")
    assert page.dialogs and "作废后该访问不再计入得分" in page.dialogs[-1]

    assert _score(page, live_server, "U001") == f"{after:.2f}" == "5.75"
    case = session.get(Case, fabricated.id)
    reload(session, case)
    assert case.disposition == aapor.BREAK_OFF
    review = session.exec(select(QualityReview).where(QualityReview.case_id == case.id)).one()
    assert review.detail["verification"]["answers"]["called_on_date"] == "no"
