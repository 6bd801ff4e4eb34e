"""Redaction of free-text answers: what could identify a person is masked.

Pure text rules (no database): a comment reaches a unit, and the
statisticians' export, only after :func:`redact`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_SURNAMES = (
    "欧阳|司马|诸葛|上官|东方|皇甫|尉迟|公孙|慕容|令狐|夏侯|长孙|宇文|司徒|端木|"
    "王|李|张|刘|陈|杨|黄|赵|吴|周|徐|孙|马|朱|胡|郭|何|高|林|罗|郑|梁|谢|宋|唐|许|韩|冯|"
    "邓|曹|彭|曾|肖|萧|田|董|袁|潘|于|蒋|蔡|余|杜|叶|程|苏|魏|吕|丁|任|沈|姚|卢|姜|崔|钟|谭|"
    "陆|汪|范|金|石|廖|贾|夏|韦|付|傅|方|白|邹|孟|熊|秦|邱|江|尹|薛|闫|阎|段|雷|侯|龙|史|"
    "陶|黎|贺|顾|毛|郝|龚|邵|万|钱|严|覃|武|戴|莫|孔|向|汤|常|温|康|施|文|牛|樊|葛|邢|安|"
    "齐|易|乔|伍|庞|颜|倪|庄|聂|章|鲁|岳|翟|殷|詹|申|欧|耿|关|兰|焦|俞|左|柳|甘|祝|包|宁|"
    "尚|符|舒|阮|柯|纪|梅|童|凌|毕|季|裴|霍|涂|苗|谷|盛|曲|翁|冉|骆|蓝|游|辛|靳|"
    "柴|蒙|鲍|喻|祁|蒲|房|滕|屈|饶|牟|艾|尤|阳|穆|农|卓|古|吉|缪|简|项|"
    "连|芦|麦|褚|娄|窦|戚|岑|景|宫|费|卜|冷|晏|席|卫|米|柏|宗|瞿|桂|佟|臧|闵|苟|"
    "邬|边|卞|姬|仇|栾|隋|刁|沙|荣|巫|寇|桑|郎|甄|丛|仲|虞|敖|巩|佘|池|查|麻|"
    "苑|迟|邝"
)
# Forms of address that follow a surname, with up to two given-name characters
# before them ("李建国先生"); official titles follow the surname directly ("王科长"),
# so that "车管所所长" or "单位主任" are left alone.
_PERSONAL = "先生|女士|小姐|同志|师傅|老师|医生|大夫|律师|阿姨|大姐|大哥"
_OFFICIAL = (
    "副科长|科长|副主任|主任|副局长|局长|副所长|所长|副站长|站长|副队长|队长|副处长|处长|"
    "副院长|院长|经理|书记|部长|组长|股长|馆长|厂长|行长|村长|镇长|乡长|区长|县长|市长|"
    "会计|民警|警官|法官|干事|专员"
)
# A given-name character is any Han character but a few words that merely follow a
# surname-like character ("找张的老师" has no name in it).
_GIVEN = r"[\u4e00-\u9fff](?<![的了和与跟是在对给找向把被也都就还说问让请])"
_COMMON = "王|李|张|刘|陈|杨|黄|赵|吴|周|徐|朱|胡|郭"

_REDACTIONS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # e-mail addresses
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII), "[邮箱]"),
    # 身份证-like ids: 18 characters (17 digits + digit or X) or 15 digits, written solid
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), "[证件号]"),
    (re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])"), "[证件号]"),
    # phone numbers and any other run of 7 or more digits, also written with single
    # spaces or dashes between digit groups, with an optional +86/0086 or (027) prefix
    (
        re.compile(
            r"(?:[+＋]\s?)?(?:[(（]\s?\d{2,4}\s?[)）]\s?)?"
            r"\d(?:[ \u3000\-\u2010-\u2015－]?\d){6,}(?:[ \-]?[Xx](?![A-Za-z]))?"
        ),
        lambda m: m.group(0) if _is_date(m.group(0)) else "[号码]",
    ),
    # numbers read out in Chinese digits (幺三八……)
    (re.compile(r"[零〇一二三四五六七八九幺两]{7,}"), "[号码]"),
    # "姓名：张三" / "名字叫张三"
    (
        re.compile(r"(姓名\s*[:：]?\s*|名字叫\s*|名叫\s*)[\u4e00-\u9fff]{2,3}"),
        lambda m: m.group(1) + "某某",
    ),
    # 张先生, 李建国女士 -> 某先生, 某女士
    (
        re.compile(rf"(?:{_SURNAMES})(?:{_GIVEN}){{0,2}}?({_PERSONAL})"),
        lambda m: "某" + m.group(1),
    ),
    # 王科长, 欧阳主任 -> 某科长, 某主任
    (re.compile(rf"(?:{_SURNAMES})({_OFFICIAL})"), lambda m: "某" + m.group(1)),
    # 老王 / 小李
    (re.compile(rf"([老小])(?:{_COMMON})"), lambda m: m.group(1) + "某"),
    # house and flat numbers: 江汉路88号之3, 3栋2单元501室, 2号楼, 501室
    (re.compile(r"(?<=[路街巷道里])\s*\d+\s*号(?:\s*[之\-－]\s*\d+)?"), "[门牌]"),
    (
        re.compile(
            r"\d+\s*(?:栋|幢|号楼|单元)(?:\s*\d+\s*单元)?(?:\s*\d+\s*(?:室|号|户))?"
            r"|\d{3,4}\s*[室户]"
        ),
        "[门牌]",
    ),
    (re.compile(r"(?:\[门牌\]\s*)+\[门牌\]"), "[门牌]"),
)


def _is_date(text: str) -> bool:
    return (
        re.fullmatch(r"(?:19|20)\d{2}[-\u2010-\u2015－]\d{1,2}[-\u2010-\u2015－]\d{1,2}", text)
        is not None
    )


def redact(text: str) -> str:
    """Remove from a free-text answer what could identify a person.

    The rules, applied in this order (a comment reaches a unit, and the
    statisticians' export, only after them):

    1. e-mail addresses → ``[邮箱]``;
    2. 身份证-like ids, 18 characters (17 digits and a digit or X) or 15
       digits written solid → ``[证件号]``;
    3. phone numbers and every other run of 7 or more digits, also when the
       groups are split by single spaces or dashes (``138-1234-5678``,
       ``027 8765 4321``), with an optional ``+86``/``0086`` or ``(027)``
       prefix and a trailing X → ``[号码]``; a date written
       ``2017-03-01`` is kept;
    4. 7 or more Chinese digits in a row (``幺三八…``) → ``[号码]``;
    5. a name after ``姓名：``, ``名字叫`` or ``名叫`` → ``某某``;
    6. a common surname (about 280, incl. compound ones like 欧阳) followed by
       a form of address, with up to two given-name characters between
       (先生, 女士, 小姐, 同志, 师傅, 老师, 医生, 大夫, 律师, 阿姨, 大姐, 大哥)
       → ``某`` + the address: ``张先生`` → ``某先生``, ``李建国女士`` →
       ``某女士``;
    7. a common surname directly followed by an official title (科长, 主任,
       局长, 所长, 站长, 队长, 处长, 院长, 经理, 书记, 民警, 警官, ...) →
       ``某`` + the title: ``王科长`` → ``某科长`` (``车管所所长`` stays);
    8. ``老``/``小`` before one of the 14 commonest surnames → ``老某``/``小某``;
    9. house and flat numbers → ``[门牌]``: a number with 号 right after a
       street (``江汉路88号``, ``民主街12号之3``), numbered buildings, units
       and flats (``3栋2单元501室``, ``2号楼``), and 3-4 digit rooms
       (``501室``); the street's name stays, a floor or a service window
       (``3楼窗口``, ``12号窗口``) too.

    Full names without a title ("张建国说") are not recognised, nor addresses
    without numbers: agents are told not to write such things down (the
    script's notes), and a list should still be read before it goes to a unit. Where a rule is in
    doubt it masks: over-masking is preferred to a leak.
    """
    out = text
    for pattern, replacement in _REDACTIONS:
        out = pattern.sub(replacement, out)
    return out
