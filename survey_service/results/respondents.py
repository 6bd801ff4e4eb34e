"""The one respondent loader: who answered in a wave's draw, with what and what score.

Every figure of the results stage starts here: the estimates
(:mod:`results.estimates`), the per-item statistics (:mod:`results.aspects`),
every export and the unit report read the wave through :func:`load_wave`, so
that they all see the same respondents, in the same order, with the same
scores.

A respondent is a case of the wave's latest draw whose final disposition is
a complete or a partial (:data:`RESPONDENT_DISPOSITIONS`); its score comes
from the script's own scoring (:func:`call_scripts.respondent_score`, computed for
all respondents at once by :func:`call_scripts.points_table`) and is ``None``
when it has no answer or no scored item answered.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
from sqlmodel import Session, select

import call_scripts
import sampling
from call_scripts import Script
from survey_service.dispositions import COMPLETE, PARTIAL
from survey_service.models import SampleDraw, SurveyWave, Unit
from survey_service.results import rows
from survey_service.sample.draws import latest_draw
from survey_service.setup.waves import script_for_wave

RESPONDENT_DISPOSITIONS = (COMPLETE, PARTIAL)


@dataclass(frozen=True)
class Respondent:
    case_id: int
    pseudonym: str
    unit: str
    stratum: str
    disposition: str
    answers: dict[str, str]
    score: float | None


@dataclass(frozen=True)
class WaveData:
    """A wave's script, latest draw, active units and respondents (unit code, case id order)."""

    wave: SurveyWave
    script: Script
    draw: SampleDraw | None
    units: list[Unit]
    respondents: list[Respondent]
    #: the respondents' points array when the loader computed it (see :attr:`points`)
    given_points: Any = field(default=None, repr=False, compare=False)
    #: figures derived from this data, kept with it (:func:`memo`): computed once per load
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def memo(self, name: str, compute):
        """``compute()``, once for this data: later calls return the first result.

        The results cache (:mod:`results.cache`) keeps a wave's data per data
        version, so everything derived through here is computed once per version.
        """
        if name not in self.derived:
            self.derived[name] = compute()
        return self.derived[name]

    @cached_property
    def points(self) -> np.ndarray:
        """Points (0-100) of every respondent (row) on every rating item of the script (column,
        script order); NaN where not asked, skipped or not applicable
        (:func:`call_scripts.points_table`)."""
        if self.given_points is not None:
            return self.given_points
        return call_scripts.points_table(self.script, [r.answers for r in self.respondents])[0]

    def rating_column(self, item_id: str) -> int:
        """The column of :attr:`points` that holds ``item_id``.

        :raise KeyError: if it is not a rating item of the script.
        """
        for j, item in enumerate(self.script.rating_items):
            if item.id == item_id:
                return j
        raise KeyError(f"item {item_id!r} is not a rating item")

    @cached_property
    def unit_codes(self) -> np.ndarray:
        """Every respondent's unit code, as an array (respondent order)."""
        return np.array([r.unit for r in self.respondents])

    @cached_property
    def stratum_labels(self) -> np.ndarray:
        """Every respondent's sub-stratum, as an array (respondent order)."""
        return np.array([r.stratum for r in self.respondents])

    @property
    def strata(self) -> dict[str, dict]:
        return self.draw.design.get("strata", {}) if self.draw else {}

    @property
    def population(self) -> dict[tuple[str, str], int]:
        """``{(unit, sub-stratum): N_h}``, the populations of the estimates' sub-strata."""
        return {(spec["unit"], label): spec["N"] for label, spec in self.strata.items()}

    @cached_property
    def scored(self) -> list[Respondent]:
        """The respondents with a score: the ones behind every unit's score."""
        return [r for r in self.respondents if r.score is not None]

    def respondents_of(self, code: str) -> list[Respondent]:
        """The respondents of one unit (scored or not), in case id order."""

        def group() -> dict[str, list[Respondent]]:
            by_unit: dict[str, list[Respondent]] = defaultdict(list)
            for r in self.respondents:
                by_unit[r.unit].append(r)
            return by_unit

        return self.memo("respondents_by_unit", group).get(code, [])

    def only_unit(self, code: str) -> WaveData:
        """The same data restricted to one unit: its respondents and points, the unit alone.

        Every estimate of the results is a domain estimate of one unit from its own
        sub-strata, so a unit's figures from this data equal its figures from the whole
        wave (tested) at a fraction of the work: what the unit page needs.
        """
        rows = [i for i, r in enumerate(self.respondents) if r.unit == code]
        return replace(
            self,
            units=[u for u in self.units if u.code == code],
            respondents=[self.respondents[i] for i in rows],
            given_points=self.points[rows] if rows else None,
            derived={},
        )

    def count_by_unit(self) -> Counter[str]:
        """Respondents (scored or not) per unit code."""
        return Counter(r.unit for r in self.respondents)

    def weights(self) -> sampling.StratumWeights | None:
        """Weights, variance strata and fpc of :attr:`scored`, in that order (as the estimates)."""
        if not self.scored or not self.population:
            return None
        return sampling.stratum_weights(
            np.array([r.unit for r in self.scored]),
            np.array([r.stratum for r in self.scored]),
            self.population,
        )


def load_respondents(
    session: Session, script: Script, draw: SampleDraw
) -> tuple[list[Respondent], np.ndarray]:
    """Every respondent of ``draw`` with its answers and score, by unit code then case id.

    Returns the respondents and their points array (:attr:`WaveData.points`): the
    scores are computed for all respondents at once (:func:`call_scripts.points_table`).
    """
    cases = rows.respondent_cases(session, draw.id, RESPONDENT_DISPOSITIONS)
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    for case_id, item_id, value in rows.respondent_answers(
        session, draw.id, RESPONDENT_DISPOSITIONS
    ):
        answers[case_id][item_id] = value
    given_of = [answers.get(case_id, {}) for case_id, *_ in cases]
    points, scores = call_scripts.points_table(script, given_of)
    out = []
    for (case_id, pseudonym, code, stratum, disposition), given, score in zip(
        cases, given_of, scores.tolist(), strict=True
    ):
        out.append(
            Respondent(
                case_id=case_id,
                pseudonym=pseudonym,
                unit=code,
                stratum=stratum,
                disposition=disposition,
                answers=given,
                score=None if score != score else score,
            )
        )
    return out, points


def load_wave(session: Session, wave: SurveyWave) -> WaveData:
    """The wave's script, latest draw, active units (code order) and respondents."""
    script = script_for_wave(wave)
    draw = latest_draw(session, wave)
    units = list(session.exec(select(Unit).where(Unit.active).order_by(Unit.code)).all())
    respondents, points = (
        load_respondents(session, script, draw) if draw is not None else ([], None)
    )
    return WaveData(
        wave=wave,
        script=script,
        draw=draw,
        units=units,
        respondents=respondents,
        given_points=points,
    )
