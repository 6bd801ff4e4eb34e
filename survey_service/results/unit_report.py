"""One unit's page: its figures, answers by item, dispositions and comments.

The same page serves the office (any unit) and, once results are
published, the unit's own staff. What a unit sees is aggregates only
(Statistics Law arts. 9, 25): no respondent, no case, no time of call;
answer distributions are withheld for groups smaller than
:data:`SMALL_GROUP`, and comments reach the unit with names, numbers and
other identifying words removed, in an order that says nothing about who
said what; a comment that may still name someone after redaction
(:func:`privacy.redact.review`) is held back for a reviewer and only
counted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlmodel import Session, select

import call_scripts
from survey_service.errors import NotFound
from survey_service.models import DISPOSITIONS, Unit
from survey_service.privacy.redact import review
from survey_service.results.aspects import aspect_results
from survey_service.results.estimates import NOT_DIALLED, SMALL_GROUP, data_disposition_counts
from survey_service.results.peers import category_distribution
from survey_service.results.publication import wave_results
from survey_service.results.respondents import WaveData, load_wave

OPEN_ITEMS_KIND = "open"
DISTRIBUTION_KINDS = ("rating", "yes_no")
NOT_DIALLED_LABEL = "已发放、尚未拨打（计入UH）"


def disposition_label(code: str) -> str:
    """The zh-CN label of an AAPOR code or of the never-dialled count."""
    if code == NOT_DIALLED:
        return NOT_DIALLED_LABEL
    return DISPOSITIONS[code][1] if code in DISPOSITIONS else code


def unit_report(
    session: Session, wave, code: str, *, for_unit: bool, data: WaveData | None = None
) -> dict[str, Any]:
    """Everything the unit page shows; ``data`` is the wave's (loaded here when not given).

    :raise NotFound: for an unknown unit code.
    """
    unit = session.exec(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        raise NotFound(f"单位 {code} 不存在")
    data = data if data is not None else load_wave(session, wave)
    results = wave_results(session, wave, data=data)
    # indexes over the wave's figures, built once per data version (data.memo): a city
    # has 7,000 units and a unit's page needs only its own row and its category's
    by_code = data.memo("wave_results_by_code", lambda: {r.code: r for r in results})
    figures = by_code.get(code)
    category = figures.category if figures is not None else unit.category
    peers = data.memo(
        f"wave_results_of_category:{category}",
        lambda: [r for r in results if r.category == category],
    )
    draw = data.draw
    page: dict[str, Any] = {
        "unit": unit,
        "figures": figures,
        "items": [],
        "dispositions": [],
        "comments": [],  # releasable ones only
        "held_comments": 0,  # may still name someone: a reviewer reads them first
        "suppressed": False,
        "for_unit": for_unit,
        "peers": category_distribution(peers, code),  # the category's scores, none named
    }
    if draw is None:
        return page
    counts = data_disposition_counts(session, data).get(code, {})
    if "aspect_results" in data.derived:  # computed for the whole wave already (an export)
        page["aspects"] = [a for a in aspect_results(data) if a.unit == code]
    else:  # the unit's own figures from its own respondents: the same, far less work
        page["aspects"] = data.memo(
            f"aspect_results:{code}", lambda: aspect_results(data.only_unit(code))
        )
    page["dispositions"] = [(c, disposition_label(c), n) for c, n in sorted(counts.items())]
    answers = [r.answers for r in data.respondents_of(code) if r.answers]
    respondents = len(answers)
    page["respondents"] = respondents
    if respondents < SMALL_GROUP:
        page["suppressed"] = True
        return page
    for item in data.script.items:
        if item.kind in DISTRIBUTION_KINDS:
            tally = Counter(a.get(item.id) for a in answers if item.id in a)
            page["items"].append(
                {
                    "title": item.title or item.id,
                    "options": [(opt.label, tally.get(opt.code, 0)) for opt in item.options],
                    "answered": sum(tally.values()),
                }
            )
        elif item.kind == OPEN_ITEMS_KIND:
            for a in answers:
                if a.get(item.id) and a[item.id] != call_scripts.SKIPPED:
                    redacted = review(a[item.id])
                    if redacted.held:
                        page["held_comments"] += 1
                    else:
                        page["comments"].append(redacted.text)
    page["comments"].sort()  # no order that could point back to a call
    return page
