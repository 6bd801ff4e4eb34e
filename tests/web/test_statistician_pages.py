"""The statistician's forms: a mistake is said on the page, in Chinese, not as a bare 400."""

from __future__ import annotations

from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import Case
from survey_service.sample import draws
from survey_service.sample.draws import DrawDesign
from tests.factories import make_list, make_unit, make_user, make_wave


def _drawn(session):
    with transaction(session):
        unit = make_unit(session, code="JC022", name="奓山街派出所")
        make_user(session, username="statistician", role="statistician")
        reviewer = make_user(session, username="reviewer", role="reviewer")
        wave = make_wave(session)
        make_list(session, unit=unit, wave=wave, n=20, actor=reviewer)
        design = DrawDesign(per_unit=4, replicates=2, reserve=1)
        return draws.draw_sample(session=session, wave=wave, seed=7, design=design, actor=reviewer)


def test_bad_unit_code_in_release_stays_on_the_page(client, auth, session):
    """Does "release replicate" with an unknown unit code say so on the draw's page?"""
    record = _drawn(session)
    released = session.exec(select(Case).where(Case.released)).all()
    auth.login("statistician")
    response = client.post(f"/statistics/draws/{record.id}/release", data={"units": "NOPE1"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/statistics/draws/{record.id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "未追加发放：单位 NOPE1 不在本次抽样中" in page
    assert "unit" not in page.split("未追加发放")[1].split("</div>")[0]
    assert len(session.exec(select(Case).where(Case.released)).all()) == len(released)

    # The same form with the right code releases the next batch.
    response = client.post(f"/statistics/draws/{record.id}/release", data={"units": "JC022"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已为 1 个单位追加发放" in page
    assert len(session.exec(select(Case).where(Case.released)).all()) > len(released)


def test_second_seed_is_refused_on_the_page(client, auth, session):
    """Does a seed for a draw already drawn come back as a message, not a 409 page?"""
    record = _drawn(session)
    auth.login("statistician")
    response = client.post(f"/statistics/draws/{record.id}/seed", data={"seed": "5"})
    assert response.status_code == 302
    page = client.get("/statistics/").get_data(as_text=True)
    assert "未抽样：该样本已抽取" in page
    session.refresh(record)
    assert record.seed == 7


def test_exports_page_is_in_the_navigation(client, auth, session):
    """Can the statistician reach the exports page from any page's navigation?"""
    _drawn(session)
    auth.login("statistician")
    page = client.get("/statistics/").get_data(as_text=True)
    nav = page.split("<nav>")[1].split("</nav>")[0]
    assert 'href="/statistics/exports/"' in nav and "导出" in nav


def test_fields_are_named_in_chinese():
    """Does an error name its field in Chinese, never by the code's name?"""
    import pytest

    from survey_service.errors import ServiceError, Where

    assert str(ServiceError("单位 X 不在本次抽样中", where=Where(field="unit"))) == (
        "字段 单位代码：单位 X 不在本次抽样中"
    )
    with pytest.raises(ServiceError) as info:
        DrawDesign(margin=20.0).check()
    assert str(info.value) == "字段 误差界：抽样设计参数“误差界”=20.0 应在 0 到 10 之间"
