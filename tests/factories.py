"""Test data factories with keyword defaults and fixed, readable values."""

from __future__ import annotations

from flask import current_app
from sqlmodel import Session, select

from survey_service.lists import importing as list_import
from survey_service.lists import review
from survey_service.models import ClientList, ListStatus, SurveyWave, Unit, User
from survey_service.setup.users import create_user
from survey_service.setup.waves import open_wave

PASSWORD = "password123"


def make_unit(
    session: Session,
    *,
    code: str = "U001",
    name: str = "奓山街派出所",
    category: str = "基层站所",
    department: str | None = "区公安分局",
) -> Unit:
    unit = Unit(code=code, name=name, category=category, department=department)
    session.add(unit)
    session.flush()
    return unit


def make_user(
    session: Session,
    *,
    username: str | None = None,
    role: str = "agent",
    unit: Unit | None = None,
    password: str = PASSWORD,
) -> User:
    return create_user(
        session=session,
        username=username or role,
        password=password,
        role=role,
        unit_code=unit.code if unit else None,
    )


def make_wave(session: Session, *, name: str = "2017", script_id: str = "short_demo") -> SurveyWave:
    existing = session.exec(select(SurveyWave).where(SurveyWave.name == name)).first()
    return existing or open_wave(session=session, name=name, script_id=script_id)


def csv_content(n: int, *, start: int = 13800000000, kind: str = "群众") -> bytes:
    lines = ["姓名,联系电话,办理事项,办理时间,类型"]
    for i in range(n):
        lines.append(f"客户{i + 1},{start + i * 7},户籍办理,2017-03-{(i % 28) + 1:02d},{kind}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def upload_list(
    session: Session,
    unit: Unit,
    wave: SurveyWave,
    content: bytes,
    *,
    filename: str = "名单.csv",
    actor: User | None = None,
    **options,
) -> ClientList:
    """Import ``content`` as the unit's next list version, with the app's vault."""
    return list_import.import_client_list(
        session=session,
        unit=unit,
        wave=wave,
        content=content,
        filename=filename,
        vault=current_app.extensions["phone_vault"],
        actor=actor,
        **options,
    )


def make_list(
    session: Session,
    *,
    unit: Unit,
    wave: SurveyWave,
    n: int = 40,
    status: str = ListStatus.APPROVED,
    start: int = 13800000000,
    content: bytes | None = None,
    actor: User | None = None,
) -> ClientList:
    """Import a generated UTF-8 CSV for ``unit`` and bring it to ``status``."""
    client_list = upload_list(
        session,
        unit,
        wave,
        content or csv_content(n, start=start),
        filename=f"{unit.code}.csv",
        actor=actor,
    )
    if status in (ListStatus.SUBMITTED, ListStatus.APPROVED, ListStatus.REJECTED):
        list_import.submit_list(session=session, client_list=client_list, actor=actor)
    reviewer = actor
    if status == ListStatus.APPROVED:
        review.approve_list(session=session, client_list=client_list, reviewer=reviewer)
    elif status == ListStatus.REJECTED:
        review.reject_list(
            session=session, client_list=client_list, reviewer=reviewer, note="名单疑似注水"
        )
    session.flush()
    return client_list
