"""The terminal walker, driven by scripted input."""

from call_scripts import IVR, SKIPPED, walk


def scripted(*lines):
    """An input function that returns ``lines`` in turn, then signals end of input."""
    queue = list(lines)

    def input_fn(_prompt):
        if not queue:
            raise EOFError
        return queue.pop(0)

    return input_fn


def test_agent_walk_of_the_demo(demo, context):
    """Can an agent walk the demo with key digits and codes, skipping the comment?"""
    out: list[str] = []
    result = walk(demo, scripted("1", "2", "very_satisfied", ""), out.append, context)
    assert result.answers == {
        "screening": "dealt",
        "service_quality": "satisfied",
        "overall": "very_satisfied",
        "comment": SKIPPED,
    }
    assert result.status == "complete"
    assert (
        out[1]
        == "您好！区里委托我们回访您在区市场监管局办理的营业执照变更事项，通话会录音，回答保密。"
    )
    assert "谢谢您的支持，再见！" in out
    # (80 + 100) / 2 / 10 = 9.0
    assert out[-1] == "-- score: 9.00"


def test_agent_walk_back_and_invalid(demo, context):
    """Does '<' go back one item and a wrong input ask again?"""
    out: list[str] = []
    inputs = scripted("1", "4", "<", "7", "3", "0", "窗口太少")
    result = walk(demo, inputs, out.append, context)
    assert result.answers == {
        "screening": "dealt",
        "service_quality": "basically_satisfied",
        "overall": "na",
        "comment": "窗口太少",
    }
    assert "“7”不是此题的选项。" in out
    # only service_quality rated: 60 / 1 / 10 = 6.0
    assert out[-1] == "-- score: 6.00"


def test_agent_walk_screened_out(demo, context):
    """Does 'not dealt' end the walk with the screened-out closing?"""
    out: list[str] = []
    result = walk(demo, scripted("2"), out.append, context)
    assert result.status == "screened_out"
    assert "好的，不打扰您了，再见！" in out


def test_ivr_walk_repeats_then_gives_up(demo, context):
    """Does the IVR take a repeat key freely, and give up after three silent readings?"""
    out: list[str] = []
    result = walk(demo, scripted("1", "9", "", "8", ""), out.append, context, channel=IVR)
    assert result.gave_up
    assert result.answers == {"screening": "dealt"}
    assert result.status == "in_progress"
    assert out.count("您对区市场监管局的办事服务满意吗？") == 4  # first, repeat, 2 retries
    assert "对不起，没有收到您的按键。" in out
    assert "对不起，您按的键无效。" in out


def test_ivr_walk_completes_without_the_comment(demo, context):
    """Is the agent-only comment left out of an IVR interview?"""
    out: list[str] = []
    result = walk(demo, scripted("1", "5", "0"), out.append, context, channel=IVR)
    assert result.status == "complete"
    assert result.answers == {
        "screening": "dealt",
        "service_quality": "very_dissatisfied",
        "overall": "na",
    }
    # 0 / 1 / 10 = 0.0 (说不清 dropped, not a second zero)
    assert out[-1] == "-- score: 0.00"


def test_walk_stops_at_end_of_input(standard, context):
    """Does end of input stop the walk and report where it stood?"""
    out: list[str] = []
    result = walk(standard, scripted("agree", "dealt"), out.append, context)
    assert result.stopped
    assert result.status == "in_progress"
    assert out[-2:] == ["-- status: in_progress", "-- score: none"]
