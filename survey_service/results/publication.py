"""Closing and publishing a wave's results.

The office closes a wave: every unit's figures are computed once from the
stored answers and frozen in :class:`ResultSnapshot` rows, the wave stops
taking answers (the cases agents held go back to pending), and from then on
every page and export shows the frozen figures. Publishing then lets each
unit's staff see their own unit's aggregates. Re-computing from the stored
data gives the same figures, which :func:`recheck` confirms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields

from sqlmodel import Session, select

from survey_service import audit
from survey_service.calls import supervision
from survey_service.errors import Conflict
from survey_service.models import ResultSnapshot, SurveyWave, User, WaveStatus, utcnow
from survey_service.results import estimates, signal_views, signals
from survey_service.results.estimates import UnitResult
from survey_service.results.respondents import WaveData
from survey_service.sample.draws import latest_draw


def _to_json(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, tuple):
        return list(value)
    return value


def _from_json(name: str, value):
    if name in ("flags", "minimum_reasons"):
        return tuple(value or ())
    if value is None and name in ("df_flag", "below_minimum"):
        return False  # a snapshot frozen before these fields existed
    if value is None and name in ("open_cases", "not_dialled"):
        return 0
    if value is None and name == "response_by_kind":
        return ""
    if value is None and name not in ("note", "method", "df_method"):
        return math.nan
    return value


def close_results(*, session: Session, wave: SurveyWave, actor: User) -> int:
    """Freeze every unit's figures and stop the wave taking answers; return the unit count.

    :raise Conflict: if the wave is not open or has no drawn sample.
    """
    if wave.status != WaveStatus.OPEN:
        raise Conflict("本轮结果已封存")
    if latest_draw(session, wave) is None:
        raise Conflict("本轮尚未抽样，没有可封存的结果")
    rows = estimates.unit_results(session, wave)
    frozen_signals = {s.code: signal_views.to_json(s) for s in signals.unit_signals(session, wave)}
    for row in rows:
        figures = {k: _to_json(v) for k, v in asdict(row).items()}
        if row.code in frozen_signals:
            figures[signal_views.SNAPSHOT_KEY] = frozen_signals[row.code]
        session.add(ResultSnapshot(wave_id=wave.id, unit_code=row.code, figures=figures))
    wave.status = WaveStatus.CLOSED
    wave.closed_at = utcnow()
    session.add(wave)
    # No agent keeps a case of a wave nobody may call any more.
    supervision.release_wave_holds(session, wave, actor=actor)
    audit.record(
        session,
        user=actor,
        action="results.close",
        object_type="wave",
        object_id=wave.id,
        units=len(rows),
    )
    return len(rows)


def publish_results(*, session: Session, wave: SurveyWave, actor: User) -> SurveyWave:
    """Show the frozen figures to the units.

    :raise Conflict: unless the wave's results are closed and not yet published.
    """
    if wave.status != WaveStatus.CLOSED:
        raise Conflict("只有已封存、尚未发布的结果可以发布")
    wave.status = WaveStatus.PUBLISHED
    wave.published_at = utcnow()
    session.add(wave)
    audit.record(
        session, user=actor, action="results.publish", object_type="wave", object_id=wave.id
    )
    return wave


def frozen_results(session: Session, wave: SurveyWave) -> list[UnitResult]:
    snapshots = session.exec(
        select(ResultSnapshot)
        .where(ResultSnapshot.wave_id == wave.id)
        .order_by(ResultSnapshot.unit_code)
    ).all()
    names = [f.name for f in fields(UnitResult)]
    return [UnitResult(**{n: _from_json(n, s.figures.get(n)) for n in names}) for s in snapshots]


def wave_results(
    session: Session, wave: SurveyWave, *, data: WaveData | None = None
) -> list[UnitResult]:
    """The figures to show: live while the wave is open, frozen once it is closed.

    ``data`` (:func:`results.respondents.load_wave`) spares a second load when
    the caller has it already.
    """
    if data is not None:  # once per load of the data (the results cache keeps it per version)
        return data.memo("wave_results", lambda: _wave_results(session, data.wave, data))
    return _wave_results(session, wave, None)


def _wave_results(session: Session, wave: SurveyWave, data: WaveData | None) -> list[UnitResult]:
    if wave.status == WaveStatus.OPEN:
        return estimates.unit_results(session, wave, data=data)
    return frozen_results(session, wave)


def recheck(session: Session, wave: SurveyWave) -> list[str]:
    """Recompute from the stored data; return the units whose figures differ from the frozen."""
    frozen = {r.code: asdict(r) for r in frozen_results(session, wave)}
    fresh = {r.code: asdict(r) for r in estimates.unit_results(session, wave)}
    differ = []
    for code in sorted(set(frozen) | set(fresh)):
        a, b = frozen.get(code), fresh.get(code)
        if (
            a is None
            or b is None
            or any(
                not (
                    a[k] == b[k]
                    or (
                        isinstance(a[k], float)
                        and math.isnan(a[k])
                        and isinstance(b[k], float)
                        and math.isnan(b[k])
                    )
                )
                for k in a
            )
        ):
            differ.append(code)
    return differ
