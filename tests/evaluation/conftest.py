"""A constructed district: 12 units with known scores in all four parts, published."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from survey_service.db import transaction
from survey_service.evaluation import parts
from survey_service.models import ResultSnapshot, WaveStatus, utcnow
from survey_service.results.estimates import UnitResult
from survey_service.results.publication import _to_json
from tests.factories import make_unit, make_user, make_wave

SECTION, STATION = "机关科室", "基层站所"

# code: (category, 日常工作作风/10, satisfaction mean/10, its 95% interval, 监督检查/30, 大数据/50)
DISTRICT = {
    "E01": (SECTION, 9.5, 9.0, (8.8, 9.2), 28, 47),
    "E02": (SECTION, 9.0, 8.8, (8.6, 9.0), 27, 45),
    "E03": (SECTION, 8.5, 9.2, (9.0, 9.4), 26, 44),
    "E04": (SECTION, 8.0, 8.0, (7.5, 8.5), 25, 43),
    "E05": (SECTION, 7.5, 7.6, (7.4, 7.8), 24, 40),
    "E06": (SECTION, 7.0, 7.0, (6.8, 7.2), 22, 38),
    "E07": (STATION, 9.8, 9.5, (9.3, 9.7), 29, 48),
    "E08": (STATION, 9.2, 8.9, (8.7, 9.1), 27.5, 46),
    "E09": (STATION, 8.8, 8.4, (8.2, 8.6), 26, 42),
    "E10": (STATION, 8.2, 8.1, (7.2, 9.4), 25, 41.5),
    "E11": (STATION, 7.8, 7.9, (7.7, 8.1), 23, 39),
    "E12": (STATION, 6.5, 6.8, (6.6, 7.0), 21, 36),
}
# With the default weights the total is the plain sum of the four parts.
TOTALS = {
    "E07": 96.3,
    "E01": 93.5,
    "E08": 91.6,
    "E02": 89.8,
    "E03": 87.7,
    "E09": 85.2,
    "E04": 84.0,
    "E10": 82.8,
    "E05": 79.1,
    "E11": 77.7,
    "E06": 74.0,
    "E12": 70.3,
}


def part_csv(column: int, *, header: str = "单位代码,单位名称,得分") -> bytes:
    lines = [header]
    for code, spec in DISTRICT.items():
        lines.append(f"{code},单位{code},{spec[column]}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def big_data_csv() -> bytes:
    """互联网+大数据 with two sub-parts (网上办件 30, 投诉处理 20) and their total."""
    lines = ["单位代码,网上办件,投诉处理,得分"]
    for code, spec in DISTRICT.items():
        online = min(30.0, spec[5] - 10)
        lines.append(f"{code},{online:g},{spec[5] - online:g},{spec[5]}")
    return ("\n".join(lines) + "\n").encode("gbk")


def snapshot(code: str, name: str, category: str, mean: float, ci: tuple[float, float]):
    result = UnitResult(
        code=code,
        name=name,
        category=category,
        frame_size=200,
        target=40,
        released=60,
        completes=40,
        n=40,
        mean=mean,
        se=(ci[1] - ci[0]) / 3.92,
        ci_low=ci[0],
        ci_high=ci[1],
        deff=1.0,
        method="taylor",
        note="",
        rr3=0.5,
        coop1=0.8,
        ref1=0.1,
        con1=0.7,
        bottom=0.0,
        top=0.0,
    )
    return {k: _to_json(v) for k, v in asdict(result).items()}


def build_district(session, *, publish: bool = True, settings: dict | None = None):
    with transaction(session):
        office = make_user(session, username="office", role="reviewer")
        wave = make_wave(session, name="2017")
        for code, (category, *_rest) in DISTRICT.items():
            unit = make_unit(session, code=code, name=f"单位{code}", category=category)
            mean, ci = DISTRICT[code][2], DISTRICT[code][3]
            session.add(
                ResultSnapshot(
                    wave_id=wave.id,
                    unit_code=code,
                    figures=snapshot(code, unit.name, category, mean, ci),
                )
            )
        wave.status = WaveStatus.PUBLISHED if publish else WaveStatus.CLOSED
        wave.closed_at = wave.published_at = utcnow()
        if settings is not None:
            wave.settings = {**wave.settings, "evaluation": settings}
        session.add(wave)
    return wave, office


def import_three(session, wave, office):
    with transaction(session):
        parts.import_part(
            session=session,
            wave=wave,
            part="work_style",
            content=part_csv(1),
            filename="作风.csv",
            actor=office,
        )
        parts.import_part(
            session=session,
            wave=wave,
            part="supervision",
            content=part_csv(4),
            filename="监督.csv",
            actor=office,
        )
        parts.import_part(
            session=session,
            wave=wave,
            part="big_data",
            content=big_data_csv(),
            filename="大数据.csv",
            actor=office,
        )


@pytest.fixture
def district(session):
    wave, office = build_district(session)
    import_three(session, wave, office)
    return wave, office
