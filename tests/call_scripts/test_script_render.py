"""The agent's view and the IVR's TwiML of the same item, checked by XPath."""

import xml.etree.ElementTree as ET

import pytest

from call_scripts import (
    SKIPPED,
    ScriptUsageError,
    agent_view,
    closing_text,
    fill,
    key_menu,
    twiml_closing,
    twiml_for_item,
)

ACTION = "/ivr/case/17/item?attempt=0"


def parse(twiml: str) -> ET.Element:
    return ET.fromstring(twiml.encode("utf-8"))


def says(element: ET.Element, path: str = ".//Say") -> list[str]:
    return [say.text or "" for say in element.findall(path)]


def test_agent_view_of_a_rating(standard, context):
    """Does the agent see the filled wording, the options and whether to skip?"""
    view = agent_view(standard, standard.item("work"), context)
    assert view["title"] == "工作落实"
    assert view["text"] == (
        "在工作落实方面，也就是说到做到、不拖拉、不敷衍，您对区市场监管局满意吗？"
    )
    assert view["options"][0] == ("very_satisfied", "非常满意")
    assert view["options"][-1] == ("na", "说不清/不适用")
    assert view["kind"] == "rating"
    assert (view["may_skip"], view["skip_value"], view["free_text"]) == (False, None, False)
    assert view["preamble"] == []
    assert (view["script_id"], view["script_version"]) == ("standard_satisfaction", 1)


def test_agent_view_introduces_honestly(standard, context):
    """Does the introduction say who asked for the call, that it is recorded and confidential?"""
    view = agent_view(standard, standard.item("consent"), context)
    (intro,) = view["preamble"]
    assert "区里委托我们回访您在区市场监管局办理的营业执照变更事项" in intro
    assert "录音" in intro
    assert "保密" in intro
    assert "3分钟" in intro
    assert "随机" not in intro  # never a claim of random dialling


def test_agent_view_of_a_skippable_open_item(standard, context):
    """Is the comment free text that may be skipped?"""
    view = agent_view(standard, standard.item("comment"), context)
    assert (view["may_skip"], view["skip_value"], view["free_text"]) == (True, SKIPPED, True)
    assert view["options"] == []


def test_screening_names_the_service_and_date(standard, context):
    """Are all three placeholders filled for the agent?"""
    view = agent_view(standard, standard.item("screening"), context)
    assert view["text"] == (
        "请问您今年是否在区市场监管局办理过营业执照变更（记录的办理时间是2024年3月）？"
    )


def test_missing_context_value_is_an_error(standard):
    """Is a placeholder without a value refused rather than read out as '{unit_name}'?"""
    with pytest.raises(ScriptUsageError, match=r"no value for placeholder \{unit_name\}"):
        agent_view(standard, standard.item("overall"), {"service": "x"})
    assert fill("{other} {unit_name}", {"unit_name": "甲"}) == "{other} 甲"


def test_twiml_first_reading(standard, context):
    """Is the intro read, then the question and the key menu, inside one DTMF Gather?"""
    root = parse(twiml_for_item(standard, standard.item("consent"), context, ACTION))
    assert root.tag == "Response"
    (gather,) = root.findall("./Gather")
    assert gather.attrib == {
        "input": "dtmf",
        "numDigits": "1",
        "action": ACTION,
        "method": "POST",
        "timeout": "8",
        "actionOnEmptyResult": "true",
    }
    spoken = says(gather, "./Say")
    assert len(spoken) == 3
    assert spoken[0].startswith("您好！这里是区社会满意度调查中心的自动语音回访。")
    assert "区里委托我们回访您在区市场监管局办理的营业执照变更事项" in spoken[0]
    assert spoken[1] == "请问您现在方便接受回访吗？"
    assert spoken[2] == "方便请按1，现在不方便请按2，不愿意接受回访请按3，重听请按9。"
    for say in root.iter("Say"):
        assert say.attrib == {"voice": "Polly.Zhiyu", "language": "cmn-CN"}
    assert root.findall("./Say") == []  # nothing outside the Gather
    assert root.find(".//Hangup") is None


def test_twiml_rating_menu_matches_keys(standard, context):
    """Does the spoken menu give 1 非常满意 … 5 非常不满意, 0 说不清, 9 repeat?"""
    root = parse(twiml_for_item(standard, standard.item("overall"), context, ACTION))
    assert says(root, "./Gather/Say") == [
        "总的来说，您对区市场监管局满意吗？",
        "非常满意请按1，满意请按2，基本满意请按3，不满意请按4，非常不满意请按5，"
        "说不清或不适用请按0，重听请按9。",
    ]
    assert key_menu(standard, standard.item("favours")) == (
        "有请按1，没有请按2，说不清请按0，重听请按9。"
    )


def test_twiml_repeat_after_a_wrong_key(standard, context):
    """On a repeat, is the notice said first and the intro not read again?"""
    twiml = twiml_for_item(
        standard,
        standard.item("consent"),
        context,
        ACTION,
        attempt=1,
        notice="对不起，您按的键无效。",
    )
    root = parse(twiml)
    assert says(root, "./Say") == ["对不起，您按的键无效。"]
    assert says(root, "./Gather/Say") == [
        "请问您现在方便接受回访吗？",
        "方便请按1，现在不方便请按2，不愿意接受回访请按3，重听请按9。",
    ]
    assert [child.tag for child in root] == ["Say", "Gather"]


def test_twiml_gives_up_after_two_repeats(standard, context):
    """After the question was read three times, is it a polite goodbye and a hang-up?"""
    assert parse(twiml_for_item(standard, standard.item("work"), context, ACTION, attempt=2))
    root = parse(twiml_for_item(standard, standard.item("work"), context, ACTION, attempt=3))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.find(".//Gather") is None
    assert "再见" in root.find("./Say").text


def test_twiml_refuses_an_agent_only_item(standard, context):
    """Is an open comment never rendered for the IVR?"""
    with pytest.raises(ScriptUsageError, match="not asked by IVR"):
        twiml_for_item(standard, standard.item("comment"), context, ACTION)


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        ("complete", "回访到此结束，非常感谢您的支持，再见！"),
        ("partial", "回访到此结束，非常感谢您的支持，再见！"),
        ("screened_out", "好的，那就不打扰您了。感谢您的接听，再见！"),
        ("declined", "好的，打扰您了。感谢您的接听，再见！"),
    ],
)
def test_twiml_closing(standard, context, outcome, words):
    """Does each way of ending get its own closing, then a hang-up?"""
    root = parse(twiml_closing(standard, context, outcome))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.find("./Say").text == words


def test_agent_closing_and_unknown_outcome(standard, context):
    """Does the agent read the agent wording, and is an unknown outcome an error?"""
    assert closing_text(standard, context).startswith("我们的问题就这些")
    with pytest.raises(ScriptUsageError, match="no closing"):
        closing_text(standard, context, "in_progress")
