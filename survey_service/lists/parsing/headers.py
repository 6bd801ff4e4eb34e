"""Finding the header among a list's first rows, and the columns a unit maps by hand."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from survey_service.lists.parsing.errors import _fail
from survey_service.lists.parsing.phones import _HAS_DIGIT_RX

FIELDS = ("name", "phone", "service", "date", "kind")

#: Rows scanned for the header.
HEADER_SCAN_ROWS = 20


SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "姓名",
        "客户名称",
        "服务对象",
        "联系人",
        "名称",
        "企业名称",
        "单位名称",
        "群众姓名",
        "客户姓名",
        "服务对象名称",
        "服务对象姓名",
        "name",
    ),
    "phone": (
        "联系电话",
        "手机号码",
        "手机号",
        "电话",
        "联系方式",
        "电话号码",
        "手机",
        "移动电话",
        "固定电话",
        "座机",
        "固话",
        "phone",
        "mobile",
        "tel",
        "telephone",
    ),
    "service": (
        "服务事项",
        "业务类型",
        "办理事项",
        "服务内容",
        "事项",
        "事项名称",
        "业务名称",
        "办理业务",
        "service",
    ),
    "date": (
        "办理日期",
        "办理时间",
        "服务日期",
        "服务时间",
        "日期",
        "时间",
        "date",
    ),
    "kind": (
        "类型",
        "对象类型",
        "服务对象类型",
        "类别",
        "客户类型",
        "对象类别",
        "kind",
        "type",
    ),
}
_EXACT = {syn: f for f, syns in SYNONYMS.items() for syn in syns}
_PRIORITY = {"phone": 5, "date": 4, "kind": 3, "service": 2, "name": 1}
_NOT_A_FIELD = ("身份证", "证件", "地址", "备注", "序号", "编号", "邮箱", "年龄", "性别")
_SEQ_NAMES = frozenset({"序号", "编号", "序", "no", "no.", "#"})
_PAREN_RX = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")
_DATA_LIKE_RX = re.compile(r"\d{5,}")
# A header cell is a short label: a field's word with a few more characters
# ("联系人电话", "办理事项名称"), never a sentence that mentions it.
_LABEL_EXTRA = 4
_SENTENCE_RX = re.compile(r"[，。；！？、,;!?]|\d{5,}")


def _norm_header(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = "".join(s.split())
    s = _PAREN_RX.sub("", s)
    s = s.strip("*※★:").lower()
    return s


def _classify_header(text: str) -> tuple[str, int] | None:
    """(field, score) for one header cell; None if it names no field."""
    h = _norm_header(text)
    if not h or len(h) > 20:
        return None
    f = _EXACT.get(h)
    if f:
        return f, 100
    if "/" in h:  # "联系方式/手机" (two header rows) or "电话/手机": the last part decides
        for part in reversed(h.split("/")):
            got = _classify_header(part) if part else None
            if got:
                return got
    if any(w in h for w in _NOT_A_FIELD) or _SENTENCE_RX.search(h):
        return None
    best: tuple[int, int, str] | None = None
    for f, syns in SYNONYMS.items():
        for syn in syns:
            if syn.isascii():
                continue  # English words only as whole cells
            if syn in h and len(h) <= len(syn) + _LABEL_EXTRA:
                score = len(syn) + (1 if h.endswith(syn) else 0)
                key = (score, _PRIORITY[f], f)
                if best is None or key > best:
                    best = key
    if best is None:
        return None
    return best[2], best[0]


@dataclass
class _Layout:
    header_idx: tuple[int, ...]  # indices into the head rows (0-based), () when no header
    keys: list[str]  # per column: the name used in ``fields``
    texts: list[str]  # per column: original header text
    cols: dict[str, int]  # field -> column index
    phone_fallback: tuple[int, ...] = ()
    seq_cols: frozenset[int] = frozenset()
    score: tuple[int, int] = (0, 0)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _letter_col(s: str) -> int:
    n = 0
    for ch in s.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _row_fields(texts: list[str]) -> dict[str, list[tuple[int, int]]]:
    found: dict[str, list[tuple[int, int]]] = {}
    for i, t in enumerate(texts):
        if not t:
            continue
        c = _classify_header(t)
        if c:
            found.setdefault(c[0], []).append((c[1], i))
    return found


def _score(found: dict[str, list[tuple[int, int]]]) -> tuple[int, int]:
    return (len(found), sum(max(s for s, _ in v) for v in found.values()))


def _is_data_like(row: list[str]) -> bool:
    return any(_DATA_LIKE_RX.search(c.replace(" ", "").replace("-", "")) for c in row if c)


def _layout_from(
    head: list[list[str]],
    idx: tuple[int, ...],
    texts: list[str],
    found: dict[str, list[tuple[int, int]]],
) -> _Layout:
    cols: dict[str, int] = {}
    fallback: tuple[int, ...] = ()
    for f, hits in found.items():
        best = max(s for s, _ in hits)
        primary = min(i for s, i in hits if s == best)
        cols[f] = primary
        if f == "phone":
            fallback = tuple(sorted(i for _, i in hits if i != primary))
    return _build_layout(head, idx, texts, cols, fallback, _score(found))


def _build_layout(head, idx, texts, cols, fallback, score) -> _Layout:
    width = max([len(texts), *(len(r) for r in head), *(i + 1 for i in cols.values())])
    texts = list(texts) + [""] * (width - len(texts))
    keys: list[str] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        k = t.strip() or f"列{_col_letter(i)}"
        if k in seen:
            seen[k] += 1
            k = f"{k}#{seen[k]}"
        else:
            seen[k] = 1
        keys.append(k)
    seq = frozenset(i for i, t in enumerate(texts) if _norm_header(t) in _SEQ_NAMES)
    return _Layout(idx, keys, texts, cols, fallback, seq, score)


def _merge_fill(row: list[str], r: int, merged) -> list[str]:
    """Copy the top-left value of merged ranges starting on sheet row ``r``
    (0-based) into the other cells of that row the range covers."""
    out = list(row)
    for (r0, c0), (_r1, c1) in merged or ():
        if r0 == r and c0 < len(out) and out[c0]:
            for c in range(c0 + 1, min(c1 + 1, len(out))):
                if not out[c]:
                    out[c] = out[c0]
    return out


def _is_subheader(row: list[str]) -> bool:
    """A second header row: holds no data and mostly names fields."""
    cells = [c for c in row if c.strip()]
    if not cells or _is_data_like(row):
        return False
    named = sum(1 for c in cells if _classify_header(c))
    return named >= 1 and 2 * named >= len(cells)


def _find_header(head: list[list[str]], merged=None, row0: int = 0) -> _Layout | None:
    """Pick the header among the first rows: most fields named, phone required.

    A following row that is a sub-header (names a field, holds no data) is
    combined with it (merged multi-row headers: value in the top-left cell)."""
    best: tuple[tuple[int, int], int, dict] | None = None
    for i, row in enumerate(head):
        found = _row_fields(row)
        if "phone" not in found:
            continue
        sc = _score(found)
        if best is None or sc > best[0]:
            best = (sc, i, found)
    if best is None:
        return None
    _, i, found = best
    idx: tuple[int, ...] = (i,)
    texts = list(head[i])
    if i + 1 < len(head):
        nxt = head[i + 1]
        if _is_subheader(nxt):
            upper = _merge_fill(head[i], row0 + i, merged)
            width = max(len(upper), len(nxt))
            upper = upper + [""] * (width - len(upper))
            lower = list(nxt) + [""] * (width - len(nxt))
            texts = [
                "/".join(p for p in (u.strip(), lo.strip()) if p) if u.strip() != lo.strip() else u
                for u, lo in zip(upper, lower, strict=True)
            ]
            comb = _row_fields(texts)
            if "phone" in comb:
                idx = (i, i + 1)
                found = comb
            else:
                texts = list(head[i])
    return _layout_from(head, idx, texts, found)


def _resolve_column_map(
    column_map: Mapping[str, Any], head: list[list[str]], auto: _Layout | None
) -> _Layout:
    where = "手动列映射 / column_map"
    named: dict[str, str] = {}
    numbered: dict[str, int] = {}
    for f, v in column_map.items():
        if f not in FIELDS:
            raise _fail("bad_column_map", where, f"未知字段 {f!r}，可用：{', '.join(FIELDS)}")
        if isinstance(v, bool) or v is None:
            raise _fail("bad_column_map", where, f"{f}: {v!r}")
        if isinstance(v, int):
            if v < 1:
                raise _fail("bad_column_map", where, f"{f}: 列号从 1 开始")
            numbered[f] = v - 1
            continue
        s = str(v).strip()
        if s.isdigit():
            numbered[f] = int(s) - 1
        elif re.fullmatch(r"[A-Za-z]{1,3}", s) and _EXACT.get(s.lower()) is None:
            numbered[f] = _letter_col(s)
        else:
            named[f] = _norm_header(s)
    if "phone" not in column_map and (auto is None or "phone" not in auto.cols):
        raise _fail("no_phone_column", "前20行 / first 20 rows")
    idx: tuple[int, ...]
    if named:
        hit = None
        for i, row in enumerate(head):
            norm = [_norm_header(c) for c in row]
            if all(n in norm for n in named.values()):
                hit = (i, norm)
                break
        if hit is None:
            missing = "、".join(str(column_map[f]) for f in named)
            raise _fail("bad_column_map", where, f"前20行中找不到列：{missing}")
        i, norm = hit
        base = auto if auto is not None and auto.header_idx and auto.header_idx[-1] == i else None
        cols = dict(base.cols) if base else {}
        for f, n in named.items():
            cols[f] = norm.index(n)
        idx = base.header_idx if base else (i,)
        texts = base.texts if base else list(head[i])
        fallback = base.phone_fallback if base else ()
    elif auto is not None:
        idx, texts, cols, fallback = (
            auto.header_idx,
            auto.texts,
            dict(auto.cols),
            auto.phone_fallback,
        )
    else:
        # No recognisable header: it is the row just above the first row whose
        # phone column holds digits (none if that is the first row).
        pc = numbered["phone"]
        first = next(
            (
                j
                for j, r in enumerate(head)
                if pc < len(r) and _HAS_DIGIT_RX.search(unicodedata.normalize("NFKC", r[pc]))
            ),
            0,
        )
        idx = (first - 1,) if first > 0 else ()
        texts = list(head[first - 1]) if first > 0 else []
        cols, fallback = {}, ()
    cols.update(numbered)
    if "phone" in column_map:
        fallback = ()
    return _build_layout(head, idx, texts, cols, fallback, (len(cols), 0))
