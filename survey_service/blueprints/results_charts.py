"""The results page's chart panels and the filter they share with its table."""

from __future__ import annotations

import math

from survey_service.lazy import lazy_module

# Rendering (matplotlib) is loaded by the first chart drawn (survey_service.lazy).
charts = lazy_module("survey_service.results.render.charts")
rates = lazy_module("survey_service.results.render.rates")

CHART_ROWS = 200  # units one forest/rates chart panel shows (in score order)


def filtered(rows, args):
    """The rows of the category and search (code or name) asked for, and those two."""
    category = args.get("category", "")
    query = args.get("q", "").strip()
    if category:
        rows = [r for r in rows if r.category == category]
    if query:
        rows = [r for r in rows if query in r.code or query in r.name]
    return rows, category, query


def page_number(args, name: str, pages: int) -> int:
    try:
        number = int(args.get(name, "1"))
    except ValueError:
        number = 1
    return min(max(number, 1), max(pages, 1))


def chart_panel(rows, key: str, page: int) -> list:
    """One panel of a chart: the ``page``-th ``CHART_ROWS`` units in the chart's order."""
    ordered = sorted(
        (r for r in rows if getattr(r, key) == getattr(r, key)),
        key=lambda r: (-getattr(r, key), r.name),
    )
    return ordered[(page - 1) * CHART_ROWS : page * CHART_ROWS]


def chart_svg(data, chart: str, args) -> str:
    """One chart panel's SVG, rendered once per data version and panel (``data.memo``).

    The panel: the units of the category and search in ``args``, ``CHART_ROWS``
    at a time in score (or rate) order (``chart_page``).
    """
    rows, category, query = filtered(data.derived["wave_results"], args)
    key = "mean" if chart == "forest" else "rr3"
    shown = sum(1 for r in rows if getattr(r, key) == getattr(r, key))
    pages = max(1, math.ceil(shown / CHART_ROWS))
    page = page_number(args, "chart_page", pages)
    name = data.wave.name
    scope = "".join(
        [
            f" · {category}" if category else "",
            f" · 含“{query}”" if query else "",
            f" · 第 {page}/{pages} 组" if pages > 1 else "",
        ]
    )

    def render() -> str:
        panel = chart_panel(rows, key, page)
        if chart == "forest":
            return charts.score_forest_svg(
                [
                    {
                        "label": r.name,
                        "mean": r.mean,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "flag": "有效回答不足" if "too_few" in r.flags else "",
                    }
                    for r in panel
                ],
                title=f"{name} 年度社会满意度得分与 95% 置信区间{scope}",
                highlight=10 if pages == 1 else 0,
            )
        return rates.response_rate_svg(
            [{"label": r.name, "rate": r.rr3} for r in panel],
            title=f"{name} 各单位应答率（AAPOR RR3）{scope}",
        )

    return data.memo(f"chart:{chart}:{category}:{query}:{page}", render)


def prepare_charts(data) -> None:
    """Render the results page's default chart panels (new data, computed in the background)."""
    for chart_name in ("forest", "rates"):
        chart_svg(data, chart_name, {})
