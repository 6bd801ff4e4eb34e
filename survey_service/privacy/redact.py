"""Redaction of free-text answers: what could identify a person is masked.

Pure text rules (no database): a comment reaches a unit, and the
statisticians' export, only after :func:`redact`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

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

# --- bare names (no form of address): "窗口的张三态度很好".
# Titles that follow a full name ("张建国科长"); those naming a place's head
# (区长, 县长, 村长 ...) are left to rule 7, "江汉区区长" being a place and a title.
_FULL_NAME_TITLE = (
    "副科长|科长|副主任|主任|副局长|局长|副所长|所长|副站长|站长|副队长|队长|副处长|处长|"
    "副院长|院长|经理|书记|部长|组长|股长|馆长|厂长|行长|会计|民警|警官|法官|干事|专员|"
    "医生|护士|律师"
)
# Words that begin with a surname character but name no one ("窗口的安排不合理").
_NOT_NAMES = (
    "安排|安全|安心|安静|安装|程序|方便|方式|方面|方法|方案|方向|马上|常常|常规|常用|于是|"
    "万一|任何|任务|高兴|高效|高峰|温柔|温和|温馨|文明|文件|文化|白天|周末|周到|周围|周六|"
    "周日|许多|许可|黄金|金额|江边|石头|费用|费心|关于|关系|关心|关注|关键|包括|向来|毛病|"
    "章程|齐全|简单|简便|简直|严格|严肃|严重|冷淡|冷漠|宁可|尤其|申请|申报|甘心|古怪|宗旨|"
    "连续|连忙|项目|尚未|季度|施工|康复|毕竟|凌晨|卫生|卫健|查询|查看|边上|麻烦|仲裁|余额|"
    "陆续|杜绝|房子|房间|房产|房管|林业|武昌|江汉|江夏|蔡甸|黄陂|东方|龙头|游客|柴油|"
    "米饭|钟头|时间|管理|应该|易于|岳父|谷物|苗头|盛情|曲折|童年|牛奶|邮寄|舒服|热情|"
    "符合|戴口罩|雷同|吉利|兰花|乔迁|詹|宫殿|沙发|荣誉|池塘|和谐|夏天|秦岭|孔子|史料"
)
# A given-name character of a bare name: not a word that follows a name, an
# adverb, nor a character of an office or place ("林业局局长", "卫健委主任").
_BARE_GIVEN = (
    r"[\u4e00-\u9fff](?<![的了和与跟是在对给找向把被也都就还说问让请很太挺真不没非特态服办"
    r"局所站队处院科部组馆厂行区县市镇乡村委会室厅街路巷道楼号])"
)
_BARE_NAME = rf"(?!{_NOT_NAMES})(?:{_SURNAMES})(?:{_BARE_GIVEN}){{1,2}}?"
# Words people put before a name: "窗口的张三", "工作人员李四", "叫王五的".
_BEFORE_NAME = (
    "窗口的|柜台的|前台的|大厅的|窗口|柜台|前台|工作人员|办事员|接待员|经办人|负责人|"
    "值班的|值班员|民警|警官|警察|辅警|医生|护士|老师|师傅|同志|主任|科长|所长|局长|站长|"
    "队长|经理|一个叫|名字是|叫做|叫"
)
# What follows a name ("张三态度很好", "李四说", "张建国，"): a name ends there.
_AFTER_NAME = (
    r"(?=态度|服务|办事|办理|工作|很|非常|特别|挺|真|太|不|没|就|也|都|还|又|一直|根本|故意|说|讲|"
    r"告诉|让|叫|给|帮|把|被|对|在|是|和|跟|收|要|拿|骂|吼|推|拒|刁|热|耐|认|负|[的了吗呢啊呀吧]|"
    r"[，。！？、；：,.!?;:\s）)]|$)"
)
# Named residential places (addresses without numbers): "幸福家园", "张家湾街道".
_PLACE = "小区|花园|家园|新村|公寓|大院|宿舍|山庄|社区|街道|村"
_PLACE_CHAR = r"[\u4e00-\u9fff](?<![我你他她们的了在到去是和跟从往来回这那个住])"
_HOME_WORDS = "住在|家住|家在|居住在|住址是|住址|地址是|地址"

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
    # 张建国科长 -> 某科长
    (re.compile(rf"{_BARE_NAME}({_FULL_NAME_TITLE})"), lambda m: "某" + m.group(1)),
    # 他姓张 -> 他姓某
    (re.compile(rf"(?<=姓)(?:{_SURNAMES})(?!名)"), "某"),
    # 窗口的张三态度很好 -> 窗口的[姓名]态度很好
    (
        re.compile(rf"({_BEFORE_NAME}){_BARE_NAME}{_AFTER_NAME}"),
        lambda m: m.group(1) + "[姓名]",
    ),
    # addresses without numbers: 住在幸福家园 / 我们幸福家园 / 张家湾街道 -> [地址]
    (
        re.compile(rf"({_HOME_WORDS})[:：]?\s*[^\s，。！？、；,.!?;]{{1,12}}?(?:{_PLACE}|湾|庄)"),
        lambda m: m.group(1) + "[地址]",
    ),
    (
        re.compile(
            rf"(?:(?<=[^\u4e00-\u9fff])|(?<=[我你他她们的了在到去是和跟从往来回这那个住])|^)"
            rf"(?:{_PLACE_CHAR}){{2,5}}?(?:{_PLACE})"
        ),
        "[地址]",
    ),
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


# What may still be a name after the rules: a surname and one or two characters at the
# start of a clause, followed by what people say of a person ("李四态度很差",
# "，张建国说"), or after 找/问/叫/是/给/让/被/跟/和/对/向/请 at a clause's end ("找了王强，").
_HELD_REASON = "可能含有姓名"
_CLAUSE_START = r"(?:^|(?<=[，。！？、；：,.!?;:\s（(“”\"]))"
_PERSON_VERBS = (
    r"(?=态度|服务|办事|办理|说|讲|告诉|让|骂|吼|收|要了|拒绝|推|刁难|不让|不给|没有|一直|根本|故意|"
    r"很|非常|特别|挺|太)"
)
_LIKELY_NAMES = (
    re.compile(rf"{_CLAUSE_START}{_BARE_NAME}{_PERSON_VERBS}"),
    re.compile(
        rf"(?:找了?|问了?|叫|是|给|让|被|跟|和|对|向|请)(?:了)?{_BARE_NAME}"
        r"(?=[的，。！？、；,.!?;\s]|$)"
    ),
)


@dataclass(frozen=True)
class Redaction:
    """A comment after :func:`redact`, and whether a reviewer must read it before a unit does."""

    text: str
    held: bool  # a likely name may remain: not for a unit until a reviewer has read it
    reason: str = ""


def review(text: str) -> Redaction:
    """Redact ``text`` and hold it back when what remains may still name a person.

    The rules cannot tell every bare name from an ordinary word: a comment in
    which, after redaction, a surname and one or two characters still stand
    where a person's name goes (at the start of a clause before 说, 态度,
    很 ..., or after 找/问/叫/是 ... at the end of one) is marked ``held``:
    its redacted text is kept for the statisticians' export, a unit sees it
    only once a reviewer has read it.
    """
    out = redact(text)
    held = any(pattern.search(out) for pattern in _LIKELY_NAMES)
    return Redaction(text=out, held=held, reason=_HELD_REASON if held else "")


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
    8. a full name before an official title or 医生/护士/律师 → ``某`` + the
       title: ``张建国科长`` → ``某科长`` (an office or place before the title,
       ``林业局局长``, ``卫健委主任``, ``江汉区区长``, stays);
    9. a surname after 姓 → ``姓某``;
    10. a bare name (surname and one or two characters) after the words people
        put before a person — 窗口的, 柜台的, 工作人员, 办事员, 值班的, 民警,
        警官, 师傅, 同志, 老师, 主任, 科长, 叫 ... — and before what ends a name
        (态度, 服务, 很, 说, 不, 的, punctuation ...) → ``[姓名]``:
        ``窗口的张三态度很好`` → ``窗口的[姓名]态度很好``; words that begin
        with a surname character (安排, 程序, 马上, 周到 ...) are not names;
    11. addresses without numbers → ``[地址]``: a place after 住在/家住/家在/
        地址 up to a residential ending (小区, 花园, 家园, 新村, 公寓, 大院,
        宿舍, 山庄, 社区, 街道, 村, 湾, 庄), and a named residential place
        standing alone (``幸福家园``, ``张家湾街道``);
    12. ``老``/``小`` before one of the 14 commonest surnames → ``老某``/``小某``;
    13. house and flat numbers → ``[门牌]``: a number with 号 right after a
        street (``江汉路88号``, ``民主街12号之3``), numbered buildings, units
        and flats (``3栋2单元501室``, ``2号楼``), and 3-4 digit rooms
        (``501室``); the street's name stays, a floor or a service window
        (``3楼窗口``, ``12号窗口``) too.

    A bare name with no such word around it ("张建国说") cannot be told from
    an ordinary word by these rules: :func:`review` holds such a comment back
    for a reviewer. Where a rule is in doubt it masks: over-masking is
    preferred to a leak.
    """
    out = text
    for pattern, replacement in _REDACTIONS:
        out = pattern.sub(replacement, out)
    return out
