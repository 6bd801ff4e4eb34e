"""Redaction of comments: bare names, addresses without numbers, and what is held back."""

from __future__ import annotations

import pytest

from survey_service.privacy.redact import Redaction, redact, review


@pytest.mark.parametrize(
    ("raw", "expected", "held"),
    [
        # bare names after the words people use around them
        ("窗口的张三态度很好", "窗口的[姓名]态度很好", False),
        ("工作人员李建国说材料不全，让我跑了三次", "工作人员[姓名]说材料不全，让我跑了三次", False),
        ("那个叫王五的办事员很负责", "那个叫[姓名]的办事员很负责", False),
        ("张建国科长亲自帮我办的", "某科长亲自帮我办的", False),
        ("他姓张，戴眼镜，态度很差", "他姓某，戴眼镜，态度很差", False),
        # addresses without numbers (a place name next to 街道 counts as one)
        ("我住在幸福家园，没人来问过", "我住在[地址]，没人来问过", False),
        ("我们幸福家园的路灯一直不亮", "我们[地址]的路灯一直不亮", False),
        ("张家湾街道办事处服务好", "[地址]办事处服务好", False),
        ("家住东湖新村，办证跑了两趟", "家住[地址]，办证跑了两趟", False),
        # forms of address and titles
        ("窗口的小王很耐心", "窗口的小某很耐心", False),
        ("柜台的刘芳芳服务特别好", "柜台的[姓名]服务特别好", False),
        ("民警赵强很热情，当场就办了", "民警[姓名]很热情，当场就办了", False),
        ("值班的孙丽不在岗", "值班的[姓名]不在岗", False),
        # a likely name the rules cannot place: held for a reviewer
        ("李四态度很差，推三阻四", "李四态度很差，推三阻四", True),
        ("找了王强，他说明天再来", "找了王强，他说明天再来", True),
        ("我是王芳的家属，替她办的", "我是王芳的家属，替她办的", True),
        # ordinary words, offices and places are not names
        ("窗口的安排不合理，排队太久", "窗口的安排不合理，排队太久", False),
        ("服务周到，程序简单，方便快捷", "服务周到，程序简单，方便快捷", False),
        ("工作人员马上就办好了，很高效", "工作人员马上就办好了，很高效", False),
        ("车管所所长不在，单位主任很好", "车管所所长不在，单位主任很好", False),
        ("林业局局长和卫健委主任都来过", "林业局局长和卫健委主任都来过", False),
        ("江汉区区长接待的", "江汉区区长接待的", False),
        ("黄陂区太远了，希望能就近办理", "黄陂区太远了，希望能就近办理", False),
        ("在江汉路的大厅办的，人很多", "在江汉路的大厅办的，人很多", False),
        ("希望窗口多开几个，周末也能办", "希望窗口多开几个，周末也能办", False),
        # the older rules still apply
        ("杨师傅和陈女士都很负责", "某师傅和某女士都很负责", False),
        ("欧阳主任帮了大忙", "某主任帮了大忙", False),
        ("收费不透明，还要交材料费", "收费不透明，还要交材料费", False),
        ("常常找不到人，电话没人接", "常常找不到人，电话没人接", False),
        ("安全措施到位，环境卫生也好", "安全措施到位，环境卫生也好", False),
        ("号码是幺三八一二三四五六七八，请回电", "号码是[号码]，请回电", False),
        ("万一材料不全就白跑了", "万一材料不全就白跑了", False),
    ],
)
def test_realistic_comments(raw, expected, held):
    """Is each comment redacted exactly so, and held back only when a name may remain?"""
    result = review(raw)
    assert (result.text, result.held) == (expected, held)
    assert redact(raw) == expected
    assert result.reason == ("可能含有姓名" if held else "")


def test_review_result_is_the_redacted_text_with_its_flag():
    """Does the result carry the redacted text, never the raw one?"""
    assert review("窗口的张三态度很好") == Redaction("窗口的[姓名]态度很好", held=False)
    held = review("张建国说明天再来")
    assert held.held and held.text == "张建国说明天再来"
