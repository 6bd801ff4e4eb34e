"""Scores by the script's rules, checked against arithmetic done by hand."""

import pytest

from call_scripts import SKIPPED, aspect_points, is_satisfied, load_script, respondent_score
from call_scripts.scoring import satisfied_flags

STARTED = {"consent": "agree", "screening": "dealt"}


def test_standard_points_per_level(standard):
    """Are the 好差评 levels worth 100, 80, 60, 30 and 0, with 说不清 worth nothing?"""
    work = standard.item("work")
    assert [(o.code, o.points) for o in work.options] == [
        ("very_satisfied", 100.0),
        ("satisfied", 80.0),
        ("basically_satisfied", 60.0),
        ("dissatisfied", 30.0),
        ("very_dissatisfied", 0.0),
        ("na", None),
    ]


def test_all_very_satisfied_scores_ten(standard):
    """Does top marks everywhere give 10?"""
    answers = {**STARTED, "applicant": "enterprise"}
    for item in standard.rating_items:
        answers[item.id] = "very_satisfied"
    # (6 × 100) / 6 / 10 = 10
    assert respondent_score(standard, answers) == 10.0


def test_individual_mixed_levels(standard):
    """Is an individual's score the mean of the five items asked?"""
    answers = {
        **STARTED,
        "applicant": "individual",
        "work": "very_satisfied",  # 100
        "lawful": "satisfied",  # 80
        "people": "basically_satisfied",  # 60
        "responsibility": "dissatisfied",  # 30
        "overall": "very_dissatisfied",  # 0
    }
    # enterprise_service not asked: (100 + 80 + 60 + 30 + 0) / 5 = 54 → 5.4
    assert respondent_score(standard, answers) == pytest.approx(5.4)
    assert aspect_points(standard, answers) == {
        "work": 100.0,
        "enterprise_service": None,
        "lawful": 80.0,
        "people": 60.0,
        "responsibility": 30.0,
        "overall": 0.0,
    }


def test_not_applicable_is_dropped_not_zero(standard):
    """Does 说不清 leave the mean, rather than count as 0?"""
    answers = {
        **STARTED,
        "applicant": "enterprise",
        "work": "na",  # dropped
        "enterprise_service": "satisfied",  # 80
        "lawful": "satisfied",  # 80
        "people": "basically_satisfied",  # 60
        "responsibility": "na",  # dropped
        "overall": "very_satisfied",  # 100
    }
    # (80 + 80 + 60 + 100) / 4 = 80 → 8.0; counting N.A. as 0 would give 320 / 6 → 5.33
    assert respondent_score(standard, answers) == pytest.approx(8.0)
    assert aspect_points(standard, answers)["work"] is None


def test_skipped_item_is_dropped(standard):
    """Is a skipped 服务企业 left out of the mean?"""
    answers = {
        **STARTED,
        "applicant": "enterprise",
        "work": "satisfied",  # 80
        "enterprise_service": SKIPPED,  # dropped
        "lawful": "dissatisfied",  # 30
    }
    # (80 + 30) / 2 = 55 → 5.5 (an unfinished interview is scored on what was answered)
    assert respondent_score(standard, answers) == pytest.approx(5.5)


def test_off_path_answer_is_not_scored(standard):
    """Does a stale 服务企业 answer of an individual respondent count for nothing?"""
    answers = {
        **STARTED,
        "applicant": "individual",
        "work": "satisfied",  # 80
        "enterprise_service": "very_dissatisfied",  # off the path: ignored
        "overall": "very_satisfied",  # 100
    }
    # (80 + 100) / 2 = 90 → 9.0
    assert respondent_score(standard, answers) == pytest.approx(9.0)
    assert aspect_points(standard, answers)["enterprise_service"] is None


def test_no_rated_item_gives_none(standard):
    """Is the score None, not 0, when nothing was rated?"""
    assert respondent_score(standard, {}) is None
    assert respondent_score(standard, {"consent": "agree", "screening": "not_dealt"}) is None
    all_na = {**STARTED, "applicant": "individual", "work": "na", "overall": "na"}
    assert respondent_score(standard, all_na) is None


def test_weights_come_from_the_script(demo_script):
    """Are unequal weights applied (demo: q1 weight 3, q2 weight 1)?"""
    answers = {"screening": "dealt", "q1": "good", "q2": "bad"}
    # (3 × 100 + 1 × 0) / (3 + 1) = 75 → 7.5
    assert respondent_score(demo_script, answers) == pytest.approx(7.5)
    answers = {"screening": "dealt", "q1": "fair"}
    # q2 is asked only after "good": 3 × 50 / 3 = 50 → 5.0
    assert respondent_score(demo_script, answers) == pytest.approx(5.0)


def test_zero_weight_keeps_an_item_out(write_script, demo_yaml):
    """Does weight 0 report an item's points but leave it out of the score?"""
    script = load_script(write_script(demo_yaml.replace("{q1: 3, q2: 1}", "{q1: 0, q2: 1}")))
    answers = {"screening": "dealt", "q1": "good", "q2": "fair"}
    # only q2 counts: 1 × 50 / 1 = 50 → 5.0
    assert respondent_score(script, answers) == pytest.approx(5.0)
    assert aspect_points(script, answers) == {"q1": 100.0, "q2": 50.0}


@pytest.mark.parametrize(
    ("overall", "satisfied"),
    [
        ("very_satisfied", True),
        ("satisfied", True),
        ("basically_satisfied", True),
        ("dissatisfied", False),
        ("very_dissatisfied", False),
        ("na", None),
        (SKIPPED, None),
    ],
)
def test_satisfied_flag_counts_the_top_three_levels(standard, overall, satisfied):
    """Is 'satisfied' 非常满意, 满意 or 基本满意 on the overall item, as the script says?"""
    answers = {**STARTED, "applicant": "individual", "overall": overall}
    assert is_satisfied(standard, answers) is satisfied


def test_satisfied_flag_per_item(standard):
    """Can the flag be asked of any rating item, and is an unasked one None?"""
    answers = {**STARTED, "applicant": "individual", "work": "dissatisfied", "lawful": "satisfied"}
    flags = satisfied_flags(standard, answers)
    assert flags["work"] is False
    assert flags["lawful"] is True
    assert flags["enterprise_service"] is None
    with pytest.raises(KeyError):
        is_satisfied(standard, answers, "favours")


def test_satisfied_levels_are_a_script_setting(demo_script):
    """Does the demo fixture's stricter setting (only 'good') apply?"""
    assert is_satisfied(demo_script, {"screening": "dealt", "q1": "good", "q2": "good"})
    assert not is_satisfied(demo_script, {"screening": "dealt", "q1": "good", "q2": "fair"})
