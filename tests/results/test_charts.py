"""Score and response-rate charts: valid SVG, one point per unit, marked names, NaN, bytes."""

from __future__ import annotations

import math
import random
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

from survey_service.results.render import charts
from survey_service.results.render.charts import score_forest_svg
from survey_service.results.render.rates import response_rate_svg

SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Row:
    label: str
    mean: float
    ci_low: float
    ci_high: float
    flag: str = ""


def make_rows(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        mean = rng.uniform(6.0, 9.9)
        half = rng.uniform(0.1, 1.4)
        rows.append(
            {
                "label": f"蔡甸区第{i:03d}基层站所",
                "mean": mean,
                "ci_low": mean - half,
                "ci_high": mean + half,
                "flag": "",
            }
        )
    return rows


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def group(root: ET.Element, gid: str) -> ET.Element | None:
    return next((g for g in root.iter(f"{SVG}g") if g.get("id") == gid), None)


def markers(root: ET.Element, gid: str) -> int:
    g = group(root, gid)
    return 0 if g is None else sum(1 for _ in g.iter(f"{SVG}use"))


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def point_count(root: ET.Element) -> int:
    return sum(markers(root, f"points-{g}") for g in ("best", "worst", "other"))


def test_forest_is_xml_with_one_point_per_estimated_unit():
    rows = make_rows(40)
    rows[5]["mean"] = math.nan
    rows[6]["mean"] = None
    rows.append(Row("蔡甸街派出所", 8.0, 7.5, 8.5, flag="样本不足"))
    root = parse(score_forest_svg(rows, title="2024年 社会满意度"))
    assert root.tag == f"{SVG}svg"
    assert point_count(root) == 39
    assert markers(root, "points-best") == 10
    assert markers(root, "points-worst") == 10
    labels = texts(root)
    assert rows[5]["label"] not in labels and rows[6]["label"] not in labels
    assert "蔡甸街派出所" in labels
    assert "样本不足" in labels
    assert "2024年 社会满意度" in labels
    assert any("2 个单位没有估计" in t for t in labels)


def test_forest_marks_the_best_and_worst_by_name():
    rows = make_rows(60)
    ranked = sorted(rows, key=lambda r: -r["mean"])
    svg = score_forest_svg(rows, title="得分", highlight=5)
    root = parse(svg)
    labels = texts(root)
    for row in ranked[:5] + ranked[-5:]:
        assert row["label"] in labels
    assert markers(root, "points-best") == 5
    assert markers(root, "points-worst") == 5
    # The marked names are drawn in the marking colours.
    best_name = next(
        t for t in root.iter(f"{SVG}text") if "".join(t.itertext()) == ranked[0]["label"]
    )
    worst_name = next(
        t for t in root.iter(f"{SVG}text") if "".join(t.itertext()) == ranked[-1]["label"]
    )
    assert charts.COLOUR_BEST.lower() in best_name.get("style").lower()
    assert charts.COLOUR_WORST.lower() in worst_name.get("style").lower()


def test_forest_few_units_split_highlight_without_overlap():
    root = parse(score_forest_svg(make_rows(7), title="少量单位"))
    assert markers(root, "points-best") == 3
    assert markers(root, "points-worst") == 3
    assert markers(root, "points-other") == 1


def test_forest_clipped_intervals_get_arrow_heads():
    rows = [
        Row("甲单位", 9.8, 9.3, 10.4),
        Row("乙单位", 0.3, -0.4, 1.0),
        Row("丙单位", 5.0, 4.0, 6.0),
        Row("丁单位", 7.0, math.nan, math.nan),  # a point but no interval
    ]
    root = parse(score_forest_svg(rows, title="截断", highlight=1))
    assert markers(root, "clipped-high") == 1
    assert markers(root, "clipped-low") == 1
    assert point_count(root) == 4


def test_forest_text_is_svg_text_with_cjk_fonts_first():
    svg = score_forest_svg(make_rows(3), title="字体")
    assert "蔡甸区第000基层站所" in svg  # glyphs as text, not paths
    assert "font-family: 'Noto Sans CJK SC'" in svg
    assert "<dc:date>" not in svg


def test_forest_same_input_same_bytes():
    rows = make_rows(50)
    first = score_forest_svg(rows, title="确定性")
    second = score_forest_svg(list(reversed(rows)), title="确定性")
    assert first == second
    assert first != score_forest_svg(rows, title="确定性", highlight=3)


def test_forest_empty_and_all_nan():
    root = parse(score_forest_svg([], title="空"))
    assert point_count(root) == 0
    root = parse(score_forest_svg([Row("甲", math.nan, math.nan, math.nan)], title="空"))
    assert point_count(root) == 0


def test_no_glyph_warning_without_a_cjk_font(monkeypatch):
    """A server with no CJK font: text is measured with DejaVu Sans, no warning escapes."""
    monkeypatch.setattr(charts, "FONT_FAMILIES", ["DejaVu Sans"])
    filters_before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        svg = score_forest_svg(make_rows(12), title="无中文字体")
        response_rate_svg([{"label": "蔡甸街派出所", "rate": 0.5}], title="应答率")
    assert caught == []
    assert warnings.filters == filters_before
    assert "无中文字体" in texts(parse(svg))


def test_only_the_glyph_warning_is_silenced(monkeypatch):
    def savefig(self, *args, **kwargs):
        warnings.warn(
            "Glyph 34081 (\\N{CJK UNIFIED IDEOGRAPH-8521}) missing from font(s) X.",
            UserWarning,
            stacklevel=2,
        )
        warnings.warn("something else", UserWarning, stacklevel=2)

    from matplotlib.figure import Figure  # charts imports it when a chart is drawn

    monkeypatch.setattr(Figure, "savefig", savefig)
    with pytest.raises(UserWarning, match="something else"):
        score_forest_svg(make_rows(2), title="x")


def test_forest_330_units():
    """Every unit with a mean is drawn (its speed is make bench's business, not a test's)."""
    rows = make_rows(330)
    for i in range(0, 330, 37):
        rows[i]["mean"] = math.nan
    svg = score_forest_svg(rows, title="330 个单位")
    root = parse(svg)
    assert point_count(root) == 330 - len(range(0, 330, 37))
    # The chart grows with the rows instead of squeezing them.
    height_pt = float(root.get("height").removesuffix("pt"))
    assert height_pt > 330 * charts.ROW_PITCH * 72 * 0.9


def test_response_rate_chart():
    rows = [
        {"label": "甲单位", "rate": 0.31},
        {"label": "乙单位", "rate": math.nan},
        {"label": "=丙单位", "rate": 0.72},
        {"label": "丁单位", "rate": None},
        {"label": "戊单位", "rate": 1.0},
    ]
    svg = response_rate_svg(rows, title="应答率")
    root = parse(svg)
    assert markers(root, "rates") == 3
    labels = texts(root)
    assert {"甲单位", "=丙单位", "戊单位"} <= set(labels)
    assert "乙单位" not in labels and "丁单位" not in labels
    assert any("2 个单位没有应答率" in t for t in labels)
    assert "100%" in labels
    assert svg == response_rate_svg(list(reversed(rows)), title="应答率")


def test_forest_without_highlight_and_unique_ids():
    rows = make_rows(20)
    rows[0]["flag"] = "疑似刷单"
    rows[1]["flag"] = "样本不足"
    root = parse(score_forest_svg(rows, title="不标记", highlight=0))
    assert markers(root, "points-best") == 0 and markers(root, "points-worst") == 0
    assert markers(root, "points-other") == 20
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    assert {"疑似刷单", "样本不足"} <= set(texts(root))


def test_forest_axis_fits_the_scores():
    """Does the axis run over whole points around the data, not always 0-10?"""
    rows = [
        Row("甲单位", 9.4, 8.9, 9.8),
        Row("乙单位", 3.6, 3.1, 4.2),
        Row("丙单位", 6.0, 5.5, 6.5),
    ]
    assert charts.score_range(charts._scores(rows)[0]) == (3.0, 10.0)
    narrow = [Row("甲单位", 8.4, 8.2, 8.6), Row("乙单位", 8.3, 8.1, 8.5)]
    assert charts.score_range(charts._scores(narrow)[0]) == (7.0, 9.0)
    clipped = [Row("甲单位", 9.8, 9.3, 10.4), Row("乙单位", 0.3, -0.4, 1.0)]
    assert charts.score_range(charts._scores(clipped)[0]) == (0.0, 10.0)
    assert charts.score_range([]) == (0.0, 10.0)
