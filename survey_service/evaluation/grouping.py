"""One problem per complaint, however it is worded (pure: texts in, groups out).

Two comments say the same thing when their **character-bigram Jaccard
similarity** is at least :data:`THRESHOLD`: each comment is reduced to its
Chinese characters, letters and digits (NFKC; punctuation, spaces, the
redaction marks such as ``[号码]`` and the filler characters in
:data:`FILLERS` such as 的/了/很/太 dropped; "no comment" and plain praise
such as 没有意见 or 很满意 are left out), cut into overlapping pairs of
characters, and two comments' pair sets are compared as |A ∩ B| / |A ∪ B|.
Groups are the connected components of that relation (single linkage), so
the result does not depend on the order of the comments. Each group is
summed up by its most central comment (the one most similar to the others;
ties: the shorter, then the first in code-point order) and counts how many
said it.

A comment goes to the aspect whose key words (:data:`ASPECT_WORDS`) it
contains most often; with none it goes to 其他. Bigrams catch rewordings that
share words (效率太低 / 效率低), not synonyms with no character in common
(态度差 / 爱答不理): such comments stay two problems, which errs towards
keeping every complaint visible.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

THRESHOLD = 0.2
FILLERS = frozenset("的了很太都也就还吗呢吧啊呀哦嘛着过得地挺蛮比较非常真是有点")
_MARK = re.compile(r"\[[^\]]{1,4}\]|某某|某")
_KEEP = re.compile(r"[\w]", re.UNICODE)
# "No comment" and plain praise are not problems: 没有意见, 很好没什么建议, 满意.
_NO_PROBLEM = re.compile(
    r"(?:好|满意|不错|挺好|可以|谢谢)*(?:没有|没|无|暂无|没什么)?(?:意见|建议|问题)?"
)
OTHER = "其他"

# Key words per aspect of the standard script (its rating items' titles).
ASPECT_WORDS: dict[str, tuple[str, ...]] = {
    "工作落实": (
        "效率",
        "拖",
        "慢",
        "落实",
        "办结",
        "跑了",
        "几趟",
        "多次",
        "排队",
        "等了",
        "时间",
    ),
    "服务企业": (
        "企业",
        "项目",
        "审批",
        "执照",
        "开办",
        "网上办",
        "一次办",
        "马上办",
        "投资",
        "公司",
    ),
    "依法行政": ("罚款", "乱罚", "收费", "乱收", "执法", "粗暴", "检查", "处罚", "违规"),
    "联系群众": (
        "态度",
        "吃拿卡要",
        "好处",
        "红包",
        "送礼",
        "冷漠",
        "脸色",
        "不耐烦",
        "爱理不理",
        "群众",
    ),
    "敢于担当": ("推诿", "踢皮球", "扯皮", "推来推去", "不管", "担当", "不作为", "互相推"),
}


@dataclass(frozen=True)
class CommentGroup:
    summary: str
    count: int
    members: tuple[str, ...]  # in code-point order
    aspect: str


def normalise(text: str) -> str:
    text = _MARK.sub("", unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in text if _KEEP.match(ch) and ch not in FILLERS).lower()


def is_no_problem(text: str) -> bool:
    """True for an empty comment, "no comment" or plain praise (没有意见, 很满意)."""
    return _NO_PROBLEM.fullmatch(normalise(text)) is not None


def bigrams(text: str) -> frozenset[str]:
    core = normalise(text)
    if len(core) < 2:
        return frozenset({core}) if core else frozenset()
    return frozenset(core[i : i + 2] for i in range(len(core) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def aspect_of(text: str, aspects: Sequence[str] = tuple(ASPECT_WORDS)) -> str:
    """The aspect among ``aspects`` whose key words ``text`` holds most, else 其他."""
    best, hits = OTHER, 0
    for aspect in aspects:
        found = sum(text.count(word) for word in ASPECT_WORDS.get(aspect, ()))
        if found > hits:
            best, hits = aspect, found
    return best


def group_comments(
    texts: Iterable[str],
    *,
    threshold: float = THRESHOLD,
    aspects: Sequence[str] = tuple(ASPECT_WORDS),
) -> list[CommentGroup]:
    """Group comments saying the same thing; most-said first (ties by summary)."""
    items = sorted(t.strip() for t in texts if t and not is_no_problem(t))
    grams = [bigrams(t) for t in items]
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sims: dict[tuple[int, int], float] = {}
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            s = 1.0 if items[i] == items[j] else jaccard(grams[i], grams[j])
            sims[(i, j)] = s
            if s >= threshold:
                parent[root(j)] = root(i)
    clusters: dict[int, list[int]] = {}
    for i in range(len(items)):
        clusters.setdefault(root(i), []).append(i)
    groups = []
    for members in clusters.values():

        def centrality(i: int, members=members) -> tuple:
            total = sum(sims[(min(i, j), max(i, j))] for j in members if j != i)
            return (-total, len(items[i]), items[i])

        summary = items[min(members, key=centrality)]
        words = "".join(items[i] for i in members)
        groups.append(
            CommentGroup(
                summary=summary,
                count=len(members),
                members=tuple(items[i] for i in members),
                aspect=aspect_of(words, aspects),
            )
        )
    groups.sort(key=lambda g: (-g.count, g.summary))
    return groups
