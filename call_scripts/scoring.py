"""Scores from answers, by the rules written in the script.

Points per level sit on the rating options (standard script: 非常满意 100,
满意 80, 基本满意 60, 不满意 30, 非常不满意 0). The respondent's 10-point score
is the weighted mean of the points of the scored items they answered, divided
by 10::

    score = sum(w_i * p_i) / sum(w_i) / 10     over answered items i with w_i > 0

"Not applicable" (说不清), skipped and unasked items are left out of both sums,
never counted as zero; with none answered the score is None. Only answers on
the respondent's path count (see :func:`call_scripts.engine.expected_items`).
"""

from __future__ import annotations

from collections.abc import Mapping

from call_scripts.engine import expected_items
from call_scripts.model import CHANNELS, RATING, Item, Script


def _on_path(script: Script, answers: Mapping[str, str]) -> dict[str, Item]:
    # Union over channels: an answer counts if it was askable on either channel.
    items: dict[str, Item] = {}
    for channel in CHANNELS:
        for item in expected_items(script, answers, channel):
            items.setdefault(item.id, item)
    return items


def aspect_points(script: Script, answers: Mapping[str, str]) -> dict[str, float | None]:
    """Points (0–100) of every rating item; None if not asked, skipped or not applicable."""
    on_path = _on_path(script, answers)
    points: dict[str, float | None] = {}
    for item in script.rating_items:
        value = answers.get(item.id)
        option = item.option(value) if value is not None and item.id in on_path else None
        points[item.id] = option.points if option and not option.not_applicable else None
    return points


def respondent_score(script: Script, answers: Mapping[str, str]) -> float | None:
    """The respondent's satisfaction score on 0–10, or None if no scored item was rated."""
    total = weight_sum = 0.0
    for item_id, points in aspect_points(script, answers).items():
        weight = script.scoring.weights.get(item_id, 0.0)
        if points is None or weight <= 0:
            continue
        total += weight * points
        weight_sum += weight
    if weight_sum == 0:
        return None
    return total / weight_sum / 10


def is_satisfied(
    script: Script, answers: Mapping[str, str], item_id: str | None = None
) -> bool | None:
    """Whether the answer to ``item_id`` is a "satisfied" level.

    ``item_id`` defaults to ``scoring.satisfied.item`` (the standard script:
    ``overall``); the levels are ``scoring.satisfied.levels`` (the standard
    script counts 非常满意, 满意 and 基本满意, as the Chinese 满意率 does).
    None when the item was not rated (not asked, skipped, not applicable).

    :raise KeyError: if the item is not a rating item of the script.
    """
    item_id = item_id or script.scoring.satisfied_item
    if item_id is None:
        raise KeyError(f"script {script.id!r} defines no satisfied item")
    item = script.item(item_id)
    if item.kind != RATING:
        raise KeyError(f"item {item_id!r} is not a rating item")
    if aspect_points(script, answers)[item_id] is None:
        return None
    return answers[item_id] in script.scoring.satisfied_levels


def satisfied_flags(script: Script, answers: Mapping[str, str]) -> dict[str, bool | None]:
    """:func:`is_satisfied` for every rating item, by item id."""
    return {item.id: is_satisfied(script, answers, item.id) for item in script.rating_items}


def path_item_ids(script: Script) -> tuple[str, ...]:
    """The items whose answers decide the path: those with an ending option or read by ask_if.

    :func:`call_scripts.engine.expected_items` depends on the answers only through these.
    """
    ids: dict[str, None] = {}
    for item in script.items:
        if item.is_choice and any(option.ends for option in item.options):
            ids.setdefault(item.id)
        if item.ask_if is not None:
            for read in item.ask_if.items():
                ids.setdefault(read)
    return tuple(ids)


def points_table(script: Script, answers_list: list[Mapping[str, str]]):
    """:func:`aspect_points` of many respondents as an array, with their scores.

    Returns ``(points, scores)``: ``points[i, j]`` is respondent ``i``'s points
    on ``script.rating_items[j]`` (NaN where :func:`aspect_points` gives None)
    and ``scores[i]`` :func:`respondent_score` (NaN where it gives None),
    computed with the same operations in the same order, so equal to the last
    bit. The path is worked out once per distinct set of path answers
    (:func:`path_item_ids`), not once per respondent.
    """
    import numpy as np

    items = script.rating_items
    path_ids = path_item_ids(script)
    points_of = [
        {
            option.code: option.points
            for option in item.options
            if option.points is not None and not option.not_applicable
        }
        for item in items
    ]
    on_path_of: dict[tuple, tuple[bool, ...]] = {}
    points = np.full((len(answers_list), len(items)), np.nan)
    for i, answers in enumerate(answers_list):
        key = tuple(answers.get(item_id) for item_id in path_ids)
        on_path = on_path_of.get(key)
        if on_path is None:
            ids = _on_path(script, answers)
            on_path = on_path_of[key] = tuple(item.id in ids for item in items)
        row = points[i]
        for j, item in enumerate(items):
            if on_path[j]:
                value = answers.get(item.id)
                found = points_of[j].get(value) if value is not None else None
                if found is not None:
                    row[j] = found
    total = np.zeros(len(answers_list))
    weight_sum = np.zeros(len(answers_list))
    for j, item in enumerate(items):
        weight = script.scoring.weights.get(item.id, 0.0)
        if weight <= 0:
            continue
        rated = ~np.isnan(points[:, j])
        total = np.where(rated, total + weight * np.where(rated, points[:, j], 0.0), total)
        weight_sum = np.where(rated, weight_sum + weight, weight_sum)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(weight_sum > 0, total / weight_sum / 10, np.nan)
    return points, scores
