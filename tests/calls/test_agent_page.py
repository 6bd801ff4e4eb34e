"""The agent page's choices: outcomes by phase, posted values, the allowed day-parts."""

from __future__ import annotations

from survey_service.blueprints import agent_page
from survey_service.calls import rules
from survey_service.calls.settings import CallingSettings


def _values(started: bool) -> list[str]:
    return [v for group in agent_page.outcome_groups(started) for v, _label in group.choices]


def test_before_the_interview_starts_no_contact_and_on_the_line_outcomes_are_offered():
    assert [g.label for g in agent_page.outcome_groups(False)] == ["未接通", "已接通"]
    assert _values(False) == [
        "3.13", "3.12", "3.14", "2.22", "4.31", "4.32", "4.20", "4.41", "3.16", "3.90",
        "2.11:soft", "2.11:hard", "2.21", "2.32", "2.33",
    ]  # fmt: skip


def test_once_answers_are_in_only_the_respondents_outcomes_are_offered():
    assert [g.label for g in agent_page.outcome_groups(True)] == ["已接通"]
    assert _values(True) == ["hangup", "2.11:soft", "2.11:hard", "2.21", "2.32", "2.33"]


def test_posted_values_are_parsed_into_outcome_and_refusal():
    assert agent_page.parse_outcome("2.11:soft") == ("2.11", "soft")
    assert agent_page.parse_outcome("2.11:hard") == ("2.11", "hard")
    assert agent_page.parse_outcome("3.13") == ("3.13", None)
    assert agent_page.parse_outcome("hangup") == (None, None)


def test_the_allowed_day_parts_are_named_per_client_kind():
    calling = CallingSettings()
    assert agent_page.windows_text(calling.rules_for("企业")) == (
        "工作日上午 09:00–12:00、工作日下午 14:00–17:30"
    )
    assert agent_page.windows_text(rules.Rules()) == (
        "工作日上午 09:00–12:00、工作日下午 14:00–17:30、工作日晚上 18:30–20:30、周末 10:00–17:00"
    )
