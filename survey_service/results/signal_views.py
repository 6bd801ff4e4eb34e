"""The signs of gaming as the pages and exports read them (:mod:`results.signals`).

Live while the wave is open; frozen with the figures once the office closes it: the
signals are stored in each unit's :class:`ResultSnapshot` (key :data:`SNAPSHOT_KEY` of
its JSON), so that a later retention purge of the numbers does not turn the number
signals into zeros. JSON has no NaN or infinity: they are stored as None and strings.
"""

from __future__ import annotations

import math

from sqlmodel import Session, select

from survey_service.models import ResultSnapshot, SurveyWave, Unit, WaveStatus
from survey_service.results.signals import SIGNAL_LABELS, Signal, UnitSignals, unit_signals

SNAPSHOT_KEY = "signals"

SIGNALS_HEADER = [
    "单位代码",
    "单位名称",
    "类别",
    *[f"{label}{part}" for label in SIGNAL_LABELS.values() for part in ("(计数/分母)", "异常")],
    "访问时长中位数(秒)",
    "时长稳健z值",
    "时长异常",
]


def signals_table(rows: list[UnitSignals]) -> tuple[list[str], list[list]]:
    """The signals as a table (one row per unit) for the CSV export."""
    table = []
    for r in rows:
        cells: list = [r.code, r.name, r.category]
        for s in r.signals:
            cells += [f"{s.events}/{s.total}", "是" if s.flagged else ""]
        seconds = "" if math.isnan(r.median_seconds) else round(r.median_seconds, 1)
        if math.isnan(r.length_z):
            z: object = ""
        elif math.isinf(r.length_z):
            z = "-inf" if r.length_z < 0 else "inf"
        else:
            z = round(r.length_z, 2)
        cells += [seconds, z, "是" if r.length_flagged else ""]
        table.append(cells)
    return SIGNALS_HEADER, table


def signals_export(session: Session, wave: SurveyWave) -> tuple[list[str], list[list]]:
    """The wave's signals table (:func:`signals_table` of :func:`wave_signals`)."""
    return signals_table(wave_signals(session, wave))


def _float_out(value: float):
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _float_in(value) -> float:
    return math.nan if value is None else float(value)


def to_json(row: UnitSignals) -> dict:
    """One unit's signals as JSON-safe data (see :func:`from_json`)."""
    return {
        "signals": [
            [
                s.key,
                s.events,
                s.total,
                *map(_float_out, (s.share, s.reference, s.p_adjusted)),
                s.flagged,
            ]
            for s in row.signals
        ],
        "median_seconds": _float_out(row.median_seconds),
        "length_z": _float_out(row.length_z),
        "length_flagged": row.length_flagged,
    }


def from_json(unit: Unit | None, code: str, data: dict) -> UnitSignals:
    return UnitSignals(
        code=code,
        name=unit.name if unit else code,
        category=unit.category if unit else "",
        signals=tuple(
            Signal(key, int(x), int(n), _float_in(a), _float_in(b), _float_in(c), bool(f))
            for key, x, n, a, b, c, f in data["signals"]
        ),
        median_seconds=_float_in(data["median_seconds"]),
        length_z=_float_in(data["length_z"]),
        length_flagged=bool(data["length_flagged"]),
    )


def frozen_signals(session: Session, wave: SurveyWave) -> list[UnitSignals] | None:
    """The signals frozen when the wave was closed (None if it was closed without them)."""
    snapshots = session.exec(
        select(ResultSnapshot)
        .where(ResultSnapshot.wave_id == wave.id)
        .order_by(ResultSnapshot.unit_code)
    ).all()
    if not snapshots or any(SNAPSHOT_KEY not in s.figures for s in snapshots):
        return None
    units = {u.code: u for u in session.exec(select(Unit)).all()}
    return [
        from_json(units.get(s.unit_code), s.unit_code, s.figures[SNAPSHOT_KEY]) for s in snapshots
    ]


def wave_signals(session: Session, wave: SurveyWave) -> list[UnitSignals]:
    """The signals to show: live while the wave is open, frozen once it is closed."""
    if wave.status != WaveStatus.OPEN:
        frozen = frozen_signals(session, wave)
        if frozen is not None:
            return frozen
    return unit_signals(session, wave)
