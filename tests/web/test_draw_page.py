"""The draw's page at city scale: a page of its units at a time, its verification kept."""

from __future__ import annotations

import re

from sqlmodel import select

from survey_service.db import transaction
from survey_service.models import AuditEvent, Case
from survey_service.sample import draw_view, draws, verification
from survey_service.sample.draws import DrawDesign
from tests.factories import make_list, make_unit, make_user, make_wave

NAMES = ["奓山街派出所", "区住房保障管理中心", "蔡甸街派出所", "区税务局", "侏儒山街派出所"]


def _wave_with_units(session):
    with transaction(session):
        make_user(session, username="statistician", role="statistician")
        reviewer = make_user(session, username="reviewer", role="reviewer")
        wave = make_wave(session)
        for i, name in enumerate(NAMES):
            unit = make_unit(session, code=f"U{i + 1}", name=name)
            make_list(
                session, unit=unit, wave=wave, n=6, start=13800000000 + i * 1000, actor=reviewer
            )
    return wave, reviewer


def _drawn(session):
    wave, reviewer = _wave_with_units(session)
    with transaction(session):
        design = DrawDesign(per_unit=4, replicates=2, reserve=1)
        return draws.draw_sample(session=session, wave=wave, seed=7, design=design, actor=reviewer)


def _codes(page: str) -> list[str]:
    return re.findall(r'<tr data-code="([^"]+)">', page)


def test_units_are_paged_and_found_by_code_or_name(client, auth, session, monkeypatch):
    """Does the page list PAGE_SIZE units at a time in code order, and find one by its name?"""
    monkeypatch.setattr(draw_view, "PAGE_SIZE", 2)
    record = _drawn(session)
    auth.login("statistician")
    url = f"/statistics/draws/{record.id}"
    first = client.get(url).get_data(as_text=True)
    assert _codes(first) == ["U1", "U2"]
    assert "共 5 个单位，第 1/3 页" in first
    assert _codes(client.get(url + "?page=3").get_data(as_text=True)) == ["U5"]
    assert _codes(client.get(url + "?page=99").get_data(as_text=True)) == ["U5"]  # clamped
    assert _codes(client.get(url + "?page=x").get_data(as_text=True)) == ["U1", "U2"]
    found = client.get(url + "?q=街派出所").get_data(as_text=True)
    assert _codes(found) == ["U1", "U3"] and "符合条件 3 个，第 1/2 页" in found
    assert _codes(client.get(url + "?q=街派出所&page=2").get_data(as_text=True)) == ["U5"]
    assert _codes(client.get(url + "?q=U4").get_data(as_text=True)) == ["U4"]
    assert _codes(client.get(url + "?q=没有").get_data(as_text=True)) == []


def test_unit_row_counts_its_released_and_completed_cases(client, auth, session):
    """Are a unit's released and completed cases those of its own cases in the draw?"""
    record = _drawn(session)
    with transaction(session):
        cases = session.exec(select(Case).where(Case.unit_id == 2, Case.released)).all()
        for case in cases[:3]:
            case.status, case.disposition = "final", "1.1"
            session.add(case)
    auth.login("statistician")
    page = client.get(f"/statistics/draws/{record.id}").get_data(as_text=True)
    row = page.split('<tr data-code="U2">')[1].split("</tr>")[0]
    numbers = re.findall(r'<td class="num">(\d+)</td>', row)
    # frame 6, 4 completes wanted by the fixed design, planned 4, released 4, completed 3
    released = len(cases)
    assert numbers == ["6", str(record.design["units"]["U2"]["completes"]), "4", str(released), "3"]


def test_verification_is_kept_until_asked_again(client, auth, session, monkeypatch):
    """Is the draw verified once for all views, and again (audited) when asked for?"""
    record = _drawn(session)
    calls = []
    real = verification.verify_draw

    def counting(session, record):
        calls.append(record.id)
        return real(session, record)

    monkeypatch.setattr(verification, "verify_draw", counting)
    auth.login("statistician")
    url = f"/statistics/draws/{record.id}"
    for _ in range(3):
        page = client.get(url).get_data(as_text=True)
        assert "一致：重算 " in page and "不一致" not in page
    assert calls == [record.id]
    session.refresh(record)
    assert record.verification["key"] == [record.id, record.frame_hash, 7, "drawn"]
    # A change behind the service's back: the kept result stands until re-run on demand.
    with transaction(session):
        case = session.exec(select(Case).where(Case.order_rank == 0)).first()
        case.order_rank = 99
        session.add(case)
    assert "不一致" not in client.get(url).get_data(as_text=True)
    response = client.post(url + "/verify")
    assert response.status_code == 302 and response.headers["Location"] == url
    page = client.get(url).get_data(as_text=True)
    assert "已重新复核：不一致。" in page and f"服务对象 #{case.client_id}" in page
    assert calls == [record.id, record.id]
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "sample.verify")).all()
    assert [(e.object_id, e.detail["ok"]) for e in events] == [(str(record.id), False)]


def _fixed_frame(auth, session):
    """A wave's frame fixed (no seed yet), the statistician logged in: the draw and its URL."""
    wave, reviewer = _wave_with_units(session)
    with transaction(session):
        design = DrawDesign(per_unit=4, replicates=2, reserve=1)
        record = draws.fix_frame(session=session, wave=wave, design=design, actor=reviewer)
    auth.login("statistician")
    return record, f"/statistics/draws/{record.id}"


def test_the_frame_check_is_redone_once_the_seed_is_given(client, auth, session, monkeypatch):
    """Does a verification of the fixed frame give way to the draw's once it is drawn?"""
    _record, url = _fixed_frame(auth, session)
    assert "尚未给出随机种子" in client.get(url).get_data(as_text=True)
    client.post(url + "/seed", data={"seed": "11"})
    page = client.get(url).get_data(as_text=True)
    assert "尚未给出随机种子" not in page and "（种子 11）" in page


def test_only_statisticians_reverify(client, auth, session):
    """Is the re-run refused to the admin, who may read the page?"""
    record = _drawn(session)
    with transaction(session):
        make_user(session, username="admin", role="admin")
    auth.login("admin")
    page = client.get(f"/statistics/draws/{record.id}").get_data(as_text=True)
    assert "一致：重算" in page and "重新复核" not in page
    assert client.post(f"/statistics/draws/{record.id}/verify").status_code == 403


def test_the_draw_is_verified_when_drawn(client, auth, session, monkeypatch):
    """Is the verification kept by the draw itself, so that its page runs none?"""
    record, url = _fixed_frame(auth, session)
    assert client.post(url + "/seed", data={"seed": "11"}).status_code == 302
    session.refresh(record)
    assert record.verification["key"] == [record.id, record.frame_hash, 11, "drawn"]
    calls = []
    monkeypatch.setattr(verification, "verify_draw", lambda *a: calls.append(a))
    page = client.get(url).get_data(as_text=True)
    assert "一致：重算 " in page and "（种子 11）" in page and calls == []
