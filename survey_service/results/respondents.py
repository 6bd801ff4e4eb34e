"""The one respondent loader: who answered in a wave's draw, with what and what score.

Every figure of the results stage starts here: the estimates
(:mod:`results.estimates`), the per-item statistics (:mod:`results.aspects`),
every export and the unit report read the wave through :func:`load_wave`, so
that they all see the same respondents, in the same order, with the same
scores.

A respondent is a case of the wave's latest draw whose final disposition is
a complete or a partial (:data:`RESPONDENT_DISPOSITIONS`); its score comes
from the script's own scoring (:func:`call_scripts.respondent_score`) and is
``None`` when it has no answer or no scored item answered.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sqlmodel import Session, select

import call_scripts
import sampling
from call_scripts import Script
from survey_service.dispositions import COMPLETE, PARTIAL
from survey_service.models import Answer, Case, SampleDraw, SurveyWave, Unit
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


def load_respondents(session: Session, script: Script, draw: SampleDraw) -> list[Respondent]:
    """Every respondent of ``draw`` with its answers and score, by unit code then case id."""
    where = (Case.draw_id == draw.id, Case.disposition.in_(RESPONDENT_DISPOSITIONS))
    cases = session.exec(
        select(Case.id, Case.pseudonym, Unit.code, Case.stratum, Case.disposition)
        .join(Unit, Unit.id == Case.unit_id)
        .where(*where)
        .order_by(Unit.code, Case.id)
    ).all()
    answers: dict[int, dict[str, str]] = defaultdict(dict)
    for case_id, item_id, value in session.exec(
        select(Answer.case_id, Answer.item_id, Answer.value)
        .join(Case, Case.id == Answer.case_id)
        .where(*where)
    ).all():
        answers[case_id][item_id] = value
    out = []
    for case_id, pseudonym, code, stratum, disposition in cases:
        given = answers.get(case_id, {})
        score = call_scripts.respondent_score(script, given) if given else None
        out.append(
            Respondent(
                case_id=case_id,
                pseudonym=pseudonym,
                unit=code,
                stratum=stratum,
                disposition=disposition,
                answers=given,
                score=None if score is None else float(score),
            )
        )
    return out


def load_wave(session: Session, wave: SurveyWave) -> WaveData:
    """The wave's script, latest draw, active units (code order) and respondents."""
    script = script_for_wave(wave)
    draw = latest_draw(session, wave)
    units = list(session.exec(select(Unit).where(Unit.active).order_by(Unit.code)).all())
    respondents = load_respondents(session, script, draw) if draw is not None else []
    return WaveData(wave=wave, script=script, draw=draw, units=units, respondents=respondents)
