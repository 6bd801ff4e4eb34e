"""The array scorer against the one-by-one scorer it replaces in the results."""

from __future__ import annotations

import math
import random

import numpy as np

import call_scripts


def _answers(script, rng: random.Random) -> dict[str, str]:
    """Random answers to random items, path or not (every code, skips, unknown codes)."""
    answers = {}
    for item in script.items:
        if not item.needs_answer or rng.random() < 0.15:
            continue
        codes = [o.code for o in item.options] or ["text"]
        answers[item.id] = rng.choice([*codes, "_skipped", "bogus"])
    return answers


def test_points_table_equals_aspect_points_and_respondent_score():
    """Are the array points and scores those of aspect_points and respondent_score, bit for bit?"""
    script = call_scripts.load_script("standard_satisfaction")
    rng = random.Random(42)
    answers_list = [_answers(script, rng) for _ in range(3000)]
    points, scores = call_scripts.points_table(script, answers_list)
    assert points.shape == (3000, len(script.rating_items))
    for i, answers in enumerate(answers_list):
        expected = call_scripts.aspect_points(script, answers)
        for j, item in enumerate(script.rating_items):
            value = expected[item.id]
            assert (math.isnan(points[i, j]) and value is None) or points[i, j] == value
        score = call_scripts.respondent_score(script, answers)
        assert (score is None and math.isnan(scores[i])) or scores[i] == score
    assert 0 < int(np.isnan(scores).sum()) < 3000  # both kinds occur


def test_path_items_of_the_standard_script():
    """Which answers decide the standard script's path?"""
    script = call_scripts.load_script("standard_satisfaction")
    assert call_scripts.path_item_ids(script) == ("consent", "screening", "applicant", "favours")
