"""The office's review pages: reasons on the form, no approval after the frame, search, paging."""

from __future__ import annotations

from survey_service.db import transaction
from survey_service.models import ListStatus
from survey_service.sample import draws
from tests.factories import make_list, make_unit, make_user, make_wave


def _submitted(session, *, code="JC001", name="奓山街派出所", start=13800000000):
    unit = make_unit(session, code=code, name=name)
    return make_list(
        session, unit=unit, wave=make_wave(session), n=5, start=start, status=ListStatus.SUBMITTED
    )


def _login_reviewer(session, auth):
    with transaction(session):
        make_user(session, username="office", role="reviewer")
    auth.login("office")


def test_reject_without_a_reason_stays_on_the_form(client, session, auth):
    with transaction(session):
        client_list = _submitted(session)
    _login_reviewer(session, auth)
    response = client.post(
        f"/review/lists/{client_list.id}/decision", data={"decision": "reject", "note": "  "}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "退回名单时必须填写理由，单位将看到这条意见。" in page
    assert 'id="signals"' in page  # the whole review page, not a bare error page
    session.refresh(client_list)
    assert client_list.status == ListStatus.SUBMITTED


def test_a_rejected_list_shows_its_reason(client, session, auth):
    with transaction(session):
        client_list = _submitted(session)
    _login_reviewer(session, auth)
    response = client.post(
        f"/review/lists/{client_list.id}/decision",
        data={"decision": "reject", "note": "名单规模与业务量不符"},
    )
    assert response.status_code == 302
    page = client.get(f"/review/lists/{client_list.id}").get_data(as_text=True)
    assert "审核意见：名单规模与业务量不符" in page


def test_approving_after_the_frame_is_fixed_is_refused(client, session, auth):
    with transaction(session):
        reviewer = make_user(session, username="office", role="reviewer")
        wave = make_wave(session)
        make_list(
            session, unit=make_unit(session, code="A", name="甲所"), wave=wave, n=5, actor=reviewer
        )
        late = make_list(
            session,
            unit=make_unit(session, code="B", name="乙所"),
            wave=wave,
            n=5,
            start=13900000000,
            status=ListStatus.SUBMITTED,
        )
        draws.fix_frame(
            session=session, wave=wave, design=draws.DrawDesign(per_unit=2), actor=reviewer
        )
    auth.login("office")
    response = client.post(
        f"/review/lists/{late.id}/decision", data={"decision": "approve", "note": ""}
    )
    assert response.status_code == 409
    assert "本轮的抽样框已固定（已抽样）" in response.get_data(as_text=True)
    session.refresh(late)
    assert late.status == ListStatus.SUBMITTED


def test_queue_has_all_search_and_pages(client, session, auth):
    with transaction(session):
        wave = make_wave(session)
        for i in range(55):
            unit = make_unit(session, code=f"U{i:03d}", name=f"测试所{i:03d}")
            make_list(
                session,
                unit=unit,
                wave=wave,
                n=3,
                start=13000000000 + i * 100,
                status=ListStatus.SUBMITTED if i % 5 else ListStatus.DRAFT,
            )
    _login_reviewer(session, auth)
    first = client.get("/review/").get_data(as_text=True)
    assert "共 44 份名单" in first  # submitted ones only, by default
    assert "第 1 / 1 页" not in first
    everything = client.get("/review/?status=all").get_data(as_text=True)
    assert "共 55 份名单" in everything
    assert "第 1 / 2 页" in everything
    assert everything.count("测试所") == 50
    second = client.get("/review/?status=all&page=2").get_data(as_text=True)
    assert second.count("测试所") == 5 and "第 2 / 2 页" in second
    found = client.get("/review/?status=all&q=测试所05").get_data(as_text=True)
    assert "共 5 份名单" in found  # 050 … 054
    by_code = client.get("/review/?status=all&q=u007").get_data(as_text=True)
    assert "共 1 份名单" in by_code and "测试所007" in by_code
    # A search string is data, not a pattern: "%" finds nothing here.
    assert "共 0 份名单" in client.get("/review/?status=all&q=%25").get_data(as_text=True)


def test_irreversible_steps_ask_first(client, session, auth):
    with transaction(session):
        make_user(session, username="stat", role="statistician")
        make_wave(session)
    auth.login("stat")
    page = client.get("/statistics/").get_data(as_text=True)
    assert 'id="design-form" data-confirm="固定抽样框后' in page
    assert "confirm.js" in page
