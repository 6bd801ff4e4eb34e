"""The engine over the standard script: every skip path, inputs, back, status."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from call_scripts import (
    AGENT,
    IVR,
    SKIPPED,
    STATUSES,
    ScriptUsageError,
    back,
    expected_items,
    has_substantive_answer,
    interpret,
    load_script,
    next_item,
    prune,
    respondent_score,
    status,
    valid_inputs,
)

STARTED = {"consent": "agree", "screening": "dealt"}
RATED = {
    "work": "satisfied",
    "lawful": "satisfied",
    "people": "satisfied",
    "responsibility": "satisfied",
    "overall": "satisfied",
}


def ids(items):
    return [item.id for item in items]


def run(script, answers, channel=AGENT, value_for=None):
    """Answer every next item (with value_for(item) or its first option) until done."""
    answers = dict(answers)
    while (item := next_item(script, answers, channel)) is not None:
        value = value_for(item) if value_for else None
        answers[item.id] = value or (item.options[0].code if item.options else "意见")
    return answers


# ----------------------------------------------------------------- the paths


@pytest.mark.parametrize(
    ("applicant", "favours", "channel", "path"),
    [
        ("individual", "no", AGENT, ["applicant", "work", "lawful", "people", "responsibility",
                                     "overall", "favours", "comment"]),
        ("enterprise", "no", AGENT, ["applicant", "work", "enterprise_service", "lawful",
                                     "people", "responsibility", "overall", "favours",
                                     "comment"]),
        ("individual", "yes", AGENT, ["applicant", "work", "lawful", "people", "responsibility",
                                      "overall", "favours", "favours_detail", "comment"]),
        ("enterprise", "yes", AGENT, ["applicant", "work", "enterprise_service", "lawful",
                                      "people", "responsibility", "overall", "favours",
                                      "favours_detail", "comment"]),
        ("individual", "na", AGENT, ["applicant", "work", "lawful", "people", "responsibility",
                                     "overall", "favours", "comment"]),
        ("individual", "yes", IVR, ["applicant", "work", "lawful", "people", "responsibility",
                                    "overall", "favours"]),
        ("enterprise", "yes", IVR, ["applicant", "work", "enterprise_service", "lawful",
                                    "people", "responsibility", "overall", "favours"]),
    ],
)  # fmt: skip
def test_every_skip_path_of_the_standard_script(standard, applicant, favours, channel, path):
    """Which items does each kind of respondent get, and does the interview complete?"""
    fixed = {"applicant": applicant, "favours": favours}
    answers = run(standard, STARTED, channel, lambda item: fixed.get(item.id))
    assert ids(expected_items(standard, answers, channel)) == ["consent", "screening", *path]
    assert list(answers) == ["consent", "screening", *path]
    assert next_item(standard, answers, channel) is None
    assert status(standard, answers, channel) == "complete"


@pytest.mark.parametrize(
    ("answers", "ended_as"),
    [
        ({"consent": "later"}, "declined"),
        ({"consent": "refuse"}, "declined"),
        ({"consent": "agree", "screening": "not_dealt"}, "screened_out"),
        ({"consent": "agree", "screening": "not_remembered"}, "screened_out"),
    ],
)
@pytest.mark.parametrize("channel", [AGENT, IVR])
def test_consent_and_screening_end_the_interview(standard, answers, ended_as, channel):
    """Does 'not now' end as declined, and 'did not deal with the unit' as screened out?"""
    assert next_item(standard, answers, channel) is None
    assert status(standard, answers, channel) == ended_as
    assert ids(expected_items(standard, answers, channel)) == list(answers)
    assert not has_substantive_answer(standard, answers)
    assert respondent_score(standard, answers) is None


def test_first_items_and_intro(standard):
    """Is consent asked first, with the introduction read before it?"""
    first = next_item(standard, {})
    assert first.id == "consent"
    assert ids(standard.preamble(first)) == ["intro"]
    assert next_item(standard, {"consent": "agree"}).id == "screening"
    assert standard.preamble(standard.item("screening")) == ()


def test_follow_up_waits_for_its_answer(standard):
    """Is a conditional item off the path until the answer it depends on is in?"""
    answers = {**STARTED}
    assert "enterprise_service" not in ids(expected_items(standard, answers))
    answers["applicant"] = "enterprise"
    assert "enterprise_service" in ids(expected_items(standard, answers))
    answers["work"] = "satisfied"
    assert next_item(standard, answers).id == "enterprise_service"


def test_enterprise_service_may_be_skipped(standard):
    """May 服务企业 be skipped by an enterprise respondent, leaving the score unaffected?"""
    answers = {**STARTED, "applicant": "enterprise", "work": "satisfied"}
    meaning = interpret(standard, "enterprise_service", SKIPPED, AGENT)
    assert (meaning.action, meaning.value) == ("store", SKIPPED)
    answers["enterprise_service"] = meaning.value
    assert next_item(standard, answers).id == "lawful"


def test_next_item_does_not_change_answers(standard):
    """Are the engine's inputs left untouched?"""
    answers = {**STARTED, "applicant": "individual"}
    before = dict(answers)
    next_item(standard, answers)
    expected_items(standard, answers)
    status(standard, answers)
    back(standard, answers)
    assert answers == before


# ----------------------------------------------------------------- back and prune


def test_back_removes_the_last_answer(standard):
    """Does back return the last answered item and the answers without it?"""
    answers = {**STARTED, "applicant": "individual", "work": "satisfied"}
    item_id, rest = back(standard, answers)
    assert item_id == "work"
    assert rest == {**STARTED, "applicant": "individual"}
    assert next_item(standard, rest).id == "work"


def test_back_drops_answers_left_off_the_path(standard):
    """After the agent changes 'enterprise' to 'individual', is 服务企业 forgotten?"""
    answers = {**STARTED, "applicant": "enterprise", "work": "satisfied"}
    answers["enterprise_service"] = "dissatisfied"
    changed = {**answers, "applicant": "individual"}
    assert "enterprise_service" not in ids(expected_items(standard, changed))
    assert prune(standard, changed) == {**STARTED, "applicant": "individual", "work": "satisfied"}
    item_id, rest = back(standard, changed)
    assert item_id == "work"
    assert rest == {**STARTED, "applicant": "individual"}


def test_back_with_nothing_answered(standard):
    """Is going back before the first answer an error?"""
    with pytest.raises(ScriptUsageError, match="nothing answered yet"):
        back(standard, {})


def test_back_out_of_a_screening_end(standard):
    """Can the agent undo a mistaken 'not dealt' and go on?"""
    item_id, rest = back(standard, {"consent": "agree", "screening": "not_dealt"})
    assert (item_id, rest) == ("screening", {"consent": "agree"})
    assert status(standard, rest) == "in_progress"


# ----------------------------------------------------------------- inputs


def test_valid_inputs_agent_and_ivr(standard):
    """Does the agent see codes and labels, and the IVR keys?"""
    work = standard.item("work")
    assert valid_inputs(work, AGENT) == (
        ("very_satisfied", "非常满意"),
        ("satisfied", "满意"),
        ("basically_satisfied", "基本满意"),
        ("dissatisfied", "不满意"),
        ("very_dissatisfied", "非常不满意"),
        ("na", "说不清/不适用"),
    )
    assert [key for key, _label in valid_inputs(work, IVR)] == ["1", "2", "3", "4", "5", "0"]
    assert valid_inputs(standard.item("enterprise_service"), AGENT)[-1] == (SKIPPED, "跳过")
    assert valid_inputs(standard.item("comment"), AGENT) == ((SKIPPED, "跳过"),)
    assert valid_inputs(standard.item("comment"), IVR) == ()


@pytest.mark.parametrize(
    ("raw", "action", "value"),
    [
        ("1", "store", "very_satisfied"),
        ("3", "store", "basically_satisfied"),
        ("5", "store", "very_dissatisfied"),
        ("0", "store", "na"),
        (" 2 ", "store", "satisfied"),
        ("9", "repeat", None),
        ("7", "invalid", None),
        ("", "invalid", None),
        (None, "invalid", None),
    ],
)
def test_interpret_ivr_keys(standard, raw, action, value):
    """Does each key mean what the menu says (1 非常满意 … 5 非常不满意, 0 说不清, 9 重听)?"""
    meaning = interpret(standard, "overall", raw, IVR)
    assert (meaning.action, meaning.value) == (action, value)


def test_interpret_ivr_messages(standard):
    """Are a wrong key and no key told apart in what the respondent hears?"""
    assert interpret(standard, "overall", "7", IVR).message == "对不起，您按的键无效。"
    assert interpret(standard, "overall", "", IVR).message == "对不起，没有收到您的按键。"


def test_ivr_silence_skips_a_skippable_item_after_the_retries(standard):
    """Does silence on 服务企业 become 'skipped' only once the repeats are used up?"""
    for attempt in (0, 1):
        meaning = interpret(standard, "enterprise_service", "", IVR, attempt=attempt)
        assert meaning.action == "invalid"
    meaning = interpret(standard, "enterprise_service", "", IVR, attempt=2)
    assert (meaning.action, meaning.value) == ("store", SKIPPED)
    assert interpret(standard, "overall", "", IVR, attempt=2).action == "invalid"


def test_interpret_agent_inputs(standard):
    """Does the agent's page store option codes, text, and skips where allowed?"""
    assert interpret(standard, "overall", "satisfied", AGENT).value == "satisfied"
    assert interpret(standard, "overall", "na", AGENT).value == "na"
    wrong = interpret(standard, "overall", "2", AGENT)
    assert (wrong.action, wrong.message) == ("invalid", "“2”不是此题的选项。")
    no_skip = interpret(standard, "overall", "", AGENT)
    assert (no_skip.action, no_skip.message) == ("invalid", "此题必须回答，不能跳过。")
    comment = interpret(standard, "comment", "  窗口人太少 ", AGENT)
    assert (comment.action, comment.value) == ("store", "窗口人太少")
    assert interpret(standard, "comment", "", AGENT).value == SKIPPED


@pytest.mark.parametrize(
    ("item_id", "channel", "message"),
    [
        ("nope", AGENT, "has no item 'nope'"),
        ("intro", AGENT, "is a statement"),
        ("comment", IVR, "not asked on the ivr channel"),
        ("overall", "sms", "channel must be one of"),
    ],
)
def test_interpret_refuses_nonsense(standard, item_id, channel, message):
    """Is a question about an unknown item, a statement or a wrong channel an error?"""
    with pytest.raises(ScriptUsageError, match=message):
        interpret(standard, item_id, "1", channel)


# ----------------------------------------------------------------- status


def test_status_partial_needs_half_the_scored_items(standard):
    """Is an unfinished interview partial once half its scored items are answered?"""
    answers = {**STARTED, "applicant": "individual"}
    # Scored items on this path: work, lawful, people, responsibility, overall (5).
    assert status(standard, answers) == "in_progress"
    answers |= {"work": "satisfied", "lawful": "na"}  # 2 of 5 < 0.5
    assert status(standard, answers) == "in_progress"
    answers |= {"people": "dissatisfied"}  # 3 of 5 >= 0.5
    assert status(standard, answers) == "partial"


def test_status_enterprise_path_counts_enterprise_service(standard):
    """Does 服务企业 count toward the partial share only when it is asked, and not if skipped?"""
    answers = {**STARTED, "applicant": "enterprise", "work": "satisfied"}
    answers |= {"enterprise_service": SKIPPED, "lawful": "satisfied"}
    # 6 scored items on the path; 2 real answers (work, lawful); the skip does not count.
    assert status(standard, answers) == "in_progress"
    answers |= {"people": "satisfied"}  # 3 of 6 = 0.5
    assert status(standard, answers) == "partial"


def test_complete_with_everything_not_applicable(standard):
    """Is an interview with 说不清 everywhere complete (and unscored)?"""
    answers = run(standard, STARTED, AGENT, lambda item: "na" if item.kind == "rating" else None)
    assert status(standard, answers) == "complete"
    assert respondent_score(standard, answers) is None


def test_substantive_answer(standard):
    """Does answering an item of the interview proper (not consent, screening, a skip) count?"""
    assert not has_substantive_answer(standard, {})
    assert not has_substantive_answer(standard, STARTED)
    assert has_substantive_answer(standard, {**STARTED, "applicant": "individual"})
    skipped_only = {**STARTED, "applicant": "enterprise"}
    assert has_substantive_answer(standard, skipped_only)
    demo = load_script("short_demo")
    assert not has_substantive_answer(demo, {"screening": "dealt", "comment": SKIPPED})
    assert has_substantive_answer(demo, {"screening": "dealt", "service_quality": "na"})


def test_off_path_answers_are_not_substantive(standard):
    """Does a stale answer to an item no longer asked count as nothing?"""
    answers = {"consent": "agree", "screening": "not_dealt", "work": "satisfied"}
    assert not has_substantive_answer(standard, answers)


# ----------------------------------------------------------------- any walk


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), channel=st.sampled_from([AGENT, IVR]))
def test_any_walk_ends_well(standard, data, channel):
    """Does every sequence of valid inputs end, with a known status and a score in 0–10?"""
    answers: dict[str, str] = {}
    for _step in range(len(standard.items) + 1):
        item = next_item(standard, answers, channel)
        if item is None:
            break
        choices = [raw for raw, _label in valid_inputs(item, channel)] or ["意见"]
        raw = data.draw(st.sampled_from(choices))
        meaning = interpret(standard, item.id, raw, channel)
        assert meaning.action == "store"
        answers[item.id] = meaning.value
    else:
        pytest.fail("the walk did not end")
    assert status(standard, answers, channel) in STATUSES
    assert status(standard, answers, channel) != "in_progress"
    score = respondent_score(standard, answers)
    assert score is None or 0 <= score <= 10
