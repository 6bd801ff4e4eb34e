"""The sampling frame: approved lists only, in an order that ignores upload order."""

from __future__ import annotations

from flask import current_app

from survey_service.db import transaction
from survey_service.models import ListStatus
from survey_service.sample.frames import UNKNOWN_KIND, build_frame
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave


def _district(session, order):
    reviewer = make_user(session, role="reviewer")
    wave = make_wave(session)
    units = {code: make_unit(session, code=code, name=f"单位{code}") for code in ("B", "A")}
    lists = {}
    for code in order:
        lists[code] = make_list(
            session,
            unit=units[code],
            wave=wave,
            n=3,
            start=13900000000 + ord(code) * 100,
            actor=reviewer,
        )
    return wave, units, lists


def test_frame_holds_approved_lists_in_canonical_order(session):
    with transaction(session):
        wave, units, _lists = _district(session, ["B", "A"])
        make_list(
            session,
            unit=make_unit(session, code="C", name="单位C"),
            wave=wave,
            n=5,
            status=ListStatus.SUBMITTED,
            start=13700000000,
        )
    frame = build_frame(session, wave.id)
    assert frame.size == 6
    assert list(frame.unit) == ["A", "A", "A", "B", "B", "B"]
    vault = current_app.extensions["phone_vault"]
    expected = {vault.lookup_hash(f"+86{13900000000 + ord('A') * 100 + i * 7}") for i in range(3)}
    assert {h for u, h in zip(frame.unit, frame.phone_hash, strict=True) if u == "A"} == expected
    for code in ("A", "B"):
        hashes = [h for u, h in zip(frame.unit, frame.phone_hash, strict=True) if u == code]
        assert hashes == sorted(hashes)
        assert len(hashes) == 3
    assert set(frame.unit_id.tolist()) == {units["A"].id, units["B"].id}
    assert list(frame.strata("kind")) == ["A/群众"] * 3 + ["B/群众"] * 3
    assert list(frame.strata(None)) == ["A"] * 3 + ["B"] * 3


def test_hash_does_not_depend_on_upload_order(session, app):
    with transaction(session):
        wave, _units, _lists = _district(session, ["B", "A"])
    first = build_frame(session, wave.id).hash()
    assert len(first) == 64
    # The same lists uploaded the other way round, in a second wave, hash the same.
    with transaction(session):
        from survey_service.setup.waves import open_wave

        other = open_wave(session=session, name="2018", script_id="short_demo")
        reviewer = make_user(session, username="reviewer2", role="reviewer")
        from sqlmodel import select

        from survey_service.models import Unit

        for code in ("A", "B"):
            unit = session.exec(select(Unit).where(Unit.code == code)).one()
            make_list(
                session,
                unit=unit,
                wave=other,
                n=3,
                start=13900000000 + ord(code) * 100,
                actor=reviewer,
            )
    assert build_frame(session, other.id).hash() == first


def test_missing_kind_is_unknown_and_empty_wave_is_empty(session):
    content = "姓名,联系电话\n张三,13812345678\n".encode()
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session)
        empty = build_frame(session, wave.id)
        make_list(session, unit=make_unit(session), wave=wave, content=content, actor=reviewer)
    assert empty.size == 0 and empty.list_ids == ()
    frame = build_frame(session, wave.id)
    assert list(frame.kind) == [UNKNOWN_KIND]
    assert frame.strata("kind").tolist() == ["U001/未注明"]
    assert csv_content(1).startswith("姓名".encode())
