"""``flask calls plan FILE --json``: the calling rules on a case history, without a database."""

from __future__ import annotations

import json

import pytest


def _plan(runner, tmp_path, data, *args):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return runner.invoke(args=["calls", "plan", str(path), *args])


def test_plan_prints_the_documented_json(runner, tmp_path):
    """Does a Monday-evening no-answer print exactly the six documented keys?"""
    result = _plan(
        runner,
        tmp_path,
        {
            "client_kind": "群众",
            "now": "2017-06-05T08:00:00+08:00",
            "attempts": [{"at": "2017-06-05T19:00:00+08:00", "outcome": "3.13"}],
        },
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        '{"final": null, "next_at": "2017-06-06T09:00:00+08:00", '
        '"day_part": "weekday_morning", "attempts": 1, "needs_senior": false, '
        '"do_not_call": false}\n'
    )


def test_plan_with_settings_soft_refusal_and_utc_times(runner, tmp_path):
    """Are overrides applied, UTC inputs accepted and next_at printed in +08:00?"""
    data = {
        "client_kind": "企业",
        "settings": {"soft_refusal_wait_days": 1, "holidays": ["2017-06-06"]},
        "attempts": [{"at": "2017-06-05T02:00:00Z", "outcome": "2.11", "refusal": "soft"}],
    }
    result = _plan(runner, tmp_path, data, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "final": None,
        # Monday 10:00 was a morning call; Tuesday the 6th is a holiday.
        "next_at": "2017-06-07T14:00:00+08:00",
        "day_part": "weekday_afternoon",
        "attempts": 1,
        "needs_senior": True,
        "do_not_call": False,
    }


def test_plan_hard_refusal_and_no_attempts(runner, tmp_path):
    hard = {"attempts": [{"at": "2017-06-05T19:00:00+08:00", "outcome": "2.11"}]}
    result = _plan(runner, tmp_path, hard, "--json")
    assert json.loads(result.output) == {
        "final": "2.11",
        "next_at": None,
        "day_part": None,
        "attempts": 1,
        "needs_senior": False,
        "do_not_call": True,
    }
    fresh = _plan(runner, tmp_path, {"client_kind": "企业", "now": "2017-06-10T12:00:00+08:00"})
    assert fresh.exit_code == 0
    assert "next_at: 2017-06-12T09:00:00+08:00\n" in fresh.output
    assert "day_part: weekday_morning\n" in fresh.output


@pytest.mark.parametrize(
    ("attempts", "message"),
    [
        ([{"at": "2017-06-05T19:00:00+08:00", "outcome": "5.55"}], "第 1 次拨打：未知的结果代码"),
        (
            [
                {"at": "2017-06-05T19:00:00+08:00", "outcome": "3.13"},
                {"at": "2017-06-06T09:00:00", "outcome": "3.13"},
            ],
            "第 2 次拨打：at 缺少时区偏移",
        ),
        (
            [
                {"at": "2017-06-05T19:00:00+08:00", "outcome": "4.31"},
                {"at": "2017-06-06T09:00:00+08:00", "outcome": "3.13"},
            ],
            "第 2 次拨打：该样本在此前已有最终结果 4.31",
        ),
        (
            [
                {"at": "2017-06-05T19:00:00+08:00", "outcome": "3.13"},
                {"at": "2017-06-06T09:00:00+08:00", "outcome": "3.13"},
                {
                    "at": "2017-06-06T14:00:00+08:00",
                    "outcome": "2.21",
                    "appointment_at": "2017-06-06T21:00:00+08:00",
                },
            ],
            "第 3 次拨打：预约时间不在允许的拨打时段内",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_attempt(runner, tmp_path, attempts, message):
    result = _plan(runner, tmp_path, {"client_kind": "群众", "attempts": attempts}, "--json")
    assert result.exit_code == 2
    assert message in result.output


def test_a_file_that_is_not_json_exits_2(runner, tmp_path):
    path = tmp_path / "case.json"
    path.write_text("{not json", encoding="utf-8")
    result = runner.invoke(args=["calls", "plan", str(path)])
    assert result.exit_code == 2
    assert "不是 UTF-8 JSON" in result.output
