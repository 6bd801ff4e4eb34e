"""Signs of gaming per unit, each against the other units of its category (issue 16).

DOMAIN.md names the signals a padded list or a coached clientele leaves. Each is a count
out of a total per unit, tested with :func:`sampling.share_outliers` against the pooled
share of the *other* units of the same category (one-sided exact binomial, Holm over the
units, family-wise 5%), flagged only where the category has at least
:data:`MIN_REFERENCE_UNITS` units with a count (a reference of one or two units is no
distribution):

- ``top_box``: respondents answering the script's top level (非常满意) on the overall
  (satisfied) item, out of those who rated it (说不清 left out);
- ``screened_out``: cases screened out (AAPOR 4.70: 没办过 / 记不清), out of the cases that
  reached the screening (1.1, 1.2 and 4.70);
- ``bad_numbers``: fax/data lines, non-working, disconnected and changed numbers (4.20,
  4.31, 4.32, 4.41), out of the released cases dialled at least once;
- ``shared_numbers`` / ``staff_numbers``: numbers of the unit's frame list also on another
  unit's current list / among any unit's staff numbers, out of the list's accepted rows
  (the review page's definitions, :func:`survey_service.lists.review.list_signals`, counted
  for every list in two queries);
- ``same_comments``: respondents whose comment, ignoring spaces and punctuation and at
  least :data:`MIN_COMMENT_CHARS` characters long, is word for word another respondent's of
  the same unit, out of the unit's respondents with such a comment;
- ``short_interviews``: completes whose completing call lasted under a third of the wave's
  median complete (the quality review's ``short`` rule), out of completes with a length.

Beside them the unit's median complete length, as a robust z-score within the category
(:func:`sampling.robust_z`, the modified z of Iglewicz and Hoaglin), flagged at or below
:data:`LENGTH_Z` when the category has at least :data:`MIN_REFERENCE_UNITS` units with a
length. The counts are unweighted and describe, they do not accuse; every flag is shown
with its counts. No text, number or name leaves this module, only counts.

:mod:`results.signal_views` gives them to the pages and exports: live while the wave is
open, frozen with the figures once it is closed, and as a table.
"""

from __future__ import annotations

import math
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

import call_scripts
import sampling
from survey_service import dispositions as aapor
from survey_service.models import (
    Answer,
    CallAttempt,
    Case,
    Client,
    ClientList,
    ListStatus,
    StaffNumber,
    SurveyWave,
    Unit,
)
from survey_service.results.estimates import NOT_DIALLED, case_dispositions
from survey_service.results.respondents import RESPONDENT_DISPOSITIONS
from survey_service.sample.draws import latest_draw
from survey_service.setup.waves import script_for_wave

ALPHA = 0.05  # family-wise level of each signal's flags (Holm over the units)
LENGTH_Z = -3.5  # Iglewicz and Hoaglin's cut for the modified z-score
MIN_REFERENCE_UNITS = 5  # units with a count (a length) the category needs before a flag
MIN_COMMENT_CHARS = 6  # shorter comments ("没有", "很好") are not compared
SHORT_SHARE = 1 / 3  # of the wave's median complete length (as calls.quality)
BAD_NUMBERS = (aapor.FAX_DATA, aapor.NON_WORKING, aapor.DISCONNECTED, aapor.NUMBER_CHANGED)
SCREENED = (aapor.COMPLETE, aapor.PARTIAL, aapor.SCREENED_OUT)
CURRENT_LISTS = (ListStatus.SUBMITTED, ListStatus.APPROVED)

#: Signal key -> zh-CN label (pages and exports), in display order.
SIGNAL_LABELS = {
    "top_box": "总体评价“非常满意”",
    "screened_out": "甄别不符（没办过/记不清）",
    "bad_numbers": "空号、停机、易主等无效号码",
    "shared_numbers": "与其他单位名单重复的号码",
    "staff_numbers": "与工作人员号码重复",
    "same_comments": "措辞完全相同的意见",
    "short_interviews": "访问时长不足全区中位数三分之一",
}
LENGTH_LABEL = "访问时长中位数偏短"
#: What the signals assume (shown on the page and in the export).
SIGNALS_NOTE = (
    "异常信号：每项为本单位的计数/分母，与同类别其他单位合计的比例（参照比例，不含本单位）比较，"
    "单侧精确二项检验，按 Holm 法对全部单位校正，校正后 p < 0.05 标为异常"
    f"（同类至少 {MIN_REFERENCE_UNITS} 个单位有该项计数时才标注）；"
    f"访问时长中位数按同类别单位的中位数和 MAD 计算稳健 z 值，z ≤ {LENGTH_Z}"
    f"（同类至少 {MIN_REFERENCE_UNITS} 个单位有时长）标为异常。"
    "计数未加权；信号只提示需要核查，不证明作弊。"
)


@dataclass(frozen=True)
class Signal:
    """One signal of one unit: ``events`` out of ``total`` against the category's others."""

    key: str
    events: int
    total: int
    share: float
    reference: float
    p_adjusted: float
    flagged: bool

    @property
    def label(self) -> str:
        return SIGNAL_LABELS[self.key]


@dataclass(frozen=True)
class UnitSignals:
    code: str
    name: str
    category: str
    signals: tuple[Signal, ...]
    median_seconds: float = math.nan
    length_z: float = math.nan
    length_flagged: bool = False

    def signal(self, key: str) -> Signal:
        return next(s for s in self.signals if s.key == key)

    @property
    def flagged(self) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if s.flagged)

    @property
    def any_flag(self) -> bool:
        return bool(self.flagged) or self.length_flagged


def _normalise(text: str) -> str:
    """The comment's wording: NFKC, letters and digits only (spaces, punctuation dropped)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def _top_box(session: Session, wave: SurveyWave, draw_id: int) -> tuple[Counter, Counter]:
    script = script_for_wave(wave)
    item_id = script.scoring.satisfied_item or (
        script.rating_items[0].id if script.rating_items else None
    )
    if item_id is None:
        return Counter(), Counter()
    options = [o for o in script.item(item_id).options if o.points is not None]
    best = max((o.points for o in options), default=None)
    top = {o.code for o in options if o.points == best}
    valid = {o.code for o in options}
    events: Counter = Counter()
    totals: Counter = Counter()
    for code, value, count in session.exec(
        select(Unit.code, Answer.value, func.count(Answer.id))
        .join(Case, Case.id == Answer.case_id)
        .join(Unit, Unit.id == Case.unit_id)
        .where(
            Case.draw_id == draw_id,
            Case.disposition.in_(RESPONDENT_DISPOSITIONS),
            Answer.item_id == item_id,
        )
        .group_by(Unit.code, Answer.value)
    ).all():
        if value in valid:
            totals[code] += count
            if value in top:
                events[code] += count
    return events, totals


def _dispositions(session: Session, draw) -> dict[str, Counter]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for code, _stratum, key in case_dispositions(session, draw).values():
        counts[code][key] += 1
    return counts


def _lengths(session: Session, draw_id: int) -> dict[str, list[float]]:
    """Seconds of each complete's completing (last 1.1) call, per unit code."""
    latest: dict[int, tuple[str, float | None]] = {}
    for case_id, code, started, ended in session.exec(
        select(CallAttempt.case_id, Unit.code, CallAttempt.started_at, CallAttempt.ended_at)
        .join(Case, Case.id == CallAttempt.case_id)
        .join(Unit, Unit.id == Case.unit_id)
        .where(
            Case.draw_id == draw_id,
            Case.disposition == aapor.COMPLETE,
            CallAttempt.outcome == aapor.COMPLETE,
        )
        .order_by(CallAttempt.id)
    ).all():
        latest[case_id] = (code, None if ended is None else (ended - started).total_seconds())
    out: dict[str, list[float]] = defaultdict(list)
    for code, seconds in latest.values():
        if seconds is not None:
            out[code].append(seconds)
    return out


def _same_comments(session: Session, wave: SurveyWave, draw_id: int) -> tuple[Counter, Counter]:
    open_ids = [it.id for it in script_for_wave(wave).items if it.kind == "open"]
    if not open_ids:
        return Counter(), Counter()
    texts: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for code, case_id, value in session.exec(
        select(Unit.code, Case.id, Answer.value)
        .join(Case, Case.id == Answer.case_id)
        .join(Unit, Unit.id == Case.unit_id)
        .where(Case.draw_id == draw_id, Answer.item_id.in_(open_ids))
    ).all():
        if not value or value == call_scripts.SKIPPED:
            continue
        wording = _normalise(value)
        if len(wording) >= MIN_COMMENT_CHARS:
            texts[code][case_id].add(wording)
    events: Counter = Counter()
    totals: Counter = Counter()
    for code, by_case in texts.items():
        seen = Counter(w for words in by_case.values() for w in words)
        totals[code] = len(by_case)
        events[code] = sum(1 for words in by_case.values() if any(seen[w] > 1 for w in words))
    return events, totals


def number_overlaps(
    session: Session, wave_id: int, list_ids: list[int]
) -> dict[int, tuple[int, int]]:
    """``{list id: (shared, staff)}``: :func:`lists.review.list_signals`' two counts, in bulk.

    ``shared``: distinct numbers of the list also on another unit's current (submitted or
    approved) list of the wave; ``staff``: distinct numbers among the wave's staff numbers.
    The lists given must be current (a frame's lists are approved).
    """
    if not list_ids:
        return {}
    current = (ClientList.wave_id == wave_id, ClientList.status.in_(CURRENT_LISTS))
    multi = (
        select(Client.phone_hash)
        .join(ClientList, ClientList.id == Client.list_id)
        .where(*current)
        .group_by(Client.phone_hash)
        .having(func.count(func.distinct(ClientList.unit_id)) > 1)
    )
    staff = select(StaffNumber.phone_hash).where(StaffNumber.wave_id == wave_id)
    out = {list_id: (0, 0) for list_id in list_ids}
    for column, hashes in ((0, multi), (1, staff)):
        for list_id, count in session.exec(
            select(Client.list_id, func.count(func.distinct(Client.phone_hash)))
            .where(Client.list_id.in_(list_ids), Client.phone_hash.in_(hashes))
            .group_by(Client.list_id)
        ).all():
            pair = list(out[list_id])
            pair[column] = int(count)
            out[list_id] = (pair[0], pair[1])
    return out


def _numbers(session: Session, wave: SurveyWave, draw) -> tuple[Counter, Counter, Counter]:
    list_ids = [int(i) for i in draw.design.get("list_ids", [])]
    sizes = session.exec(
        select(ClientList.id, Unit.code, ClientList.n_accepted)
        .join(Unit, Unit.id == ClientList.unit_id)
        .where(ClientList.id.in_(list_ids))
    ).all()
    overlaps = number_overlaps(session, wave.id, list_ids)
    shared: Counter = Counter()
    staff: Counter = Counter()
    totals: Counter = Counter()
    for list_id, code, size in sizes:
        totals[code] += int(size)
        shared[code] += overlaps[list_id][0]
        staff[code] += overlaps[list_id][1]
    return shared, staff, totals


def unit_signals(session: Session, wave: SurveyWave) -> list[UnitSignals]:
    """Every active unit's signals (code order); empty without a draw."""
    draw = latest_draw(session, wave)
    if draw is None:
        return []
    units = list(session.exec(select(Unit).where(Unit.active).order_by(Unit.code)).all())
    codes = [u.code for u in units]
    category = [u.category for u in units]
    counts = _dispositions(session, draw)
    lengths = _lengths(session, draw.id)
    pooled = [s for v in lengths.values() for s in v]
    median = statistics.median(pooled) if pooled else None
    top, rated = _top_box(session, wave, draw.id)
    same, commented = _same_comments(session, wave, draw.id)
    shared, staff, listed = _numbers(session, wave, draw)
    pairs = {
        "top_box": (top, rated),
        "screened_out": (
            {c: counts[c][aapor.SCREENED_OUT] for c in counts},
            {c: sum(counts[c][k] for k in SCREENED) for c in counts},
        ),
        "bad_numbers": (
            {c: sum(counts[c][k] for k in BAD_NUMBERS) for c in counts},
            {c: sum(v for k, v in counts[c].items() if k != NOT_DIALLED) for c in counts},
        ),
        "shared_numbers": (shared, listed),
        "staff_numbers": (staff, listed),
        "same_comments": (same, commented),
        "short_interviews": (
            {
                c: sum(1 for s in v if median is not None and s < median * SHORT_SHARE)
                for c, v in lengths.items()
            },
            {c: len(v) for c, v in lengths.items()},
        ),
    }
    tested = {}
    for key, (events, totals) in pairs.items():
        x = np.array([int(events.get(c, 0)) for c in codes], dtype=np.int64)
        n = np.array([int(totals.get(c, 0)) for c in codes], dtype=np.int64)
        result = sampling.share_outliers(x, n, category, side="high", alpha=ALPHA)
        # a reference of one or two units (or none with a count) is no distribution
        counted = Counter(cat for cat, total in zip(category, n, strict=True) if total > 0)
        enough = np.array([counted[cat] >= MIN_REFERENCE_UNITS for cat in category])
        tested[key] = (x, n, result, result.flagged & enough)
    medians = np.array(
        [statistics.median(lengths[c]) if lengths.get(c) else math.nan for c in codes]
    )
    z = sampling.robust_z(medians, category)
    with_length = Counter(cat for cat, m in zip(category, medians, strict=True) if m == m)
    out = []
    for i, unit in enumerate(units):
        signals = tuple(
            Signal(
                key=key,
                events=int(x[i]),
                total=int(n[i]),
                share=float(r.share[i]),
                reference=float(r.reference[i]),
                p_adjusted=float(r.p_adjusted[i]),
                flagged=bool(flags[i]),
            )
            for key, (x, n, r, flags) in tested.items()
        )
        enough = with_length[unit.category] >= MIN_REFERENCE_UNITS
        out.append(
            UnitSignals(
                code=unit.code,
                name=unit.name,
                category=unit.category,
                signals=signals,
                median_seconds=float(medians[i]),
                length_z=float(z[i]),
                length_flagged=bool(enough and z[i] <= LENGTH_Z),
            )
        )
    return out
