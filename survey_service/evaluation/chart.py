"""A chart of the composite totals, in the style of the results charts (SVG text).

Pure rendering, drawn with the results charts' settings (fonts asked of the
browser, SVG text, fixed hash salt, the render lock): one row per unit, best at
the top, a stacked bar of the four weighted parts, the total at its end, and
a thin black line for the range the satisfaction interval allows. Units on the
decided best list are named in blue, on the worst list in vermilion.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from survey_service.results.render.charts import (
    _RENDER_LOCK,
    BOTTOM_MARGIN,
    COLOUR_BEST,
    COLOUR_OTHER,
    COLOUR_WORST,
    LABEL_PT,
    LEGEND_PT,
    PLOT_WIDTH,
    ROW_PITCH,
    TOP_MARGIN,
    _rc,
    _render,
    _text_width_in,
    _title,
)

# Okabe-Ito, one colour per part, in the order of the parts.
PART_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7")


@dataclass(frozen=True)
class TotalRow:
    label: str
    points: Sequence[float]  # the weighted parts, in the order of ``part_labels``
    total: float
    range_low: float | None = None
    range_high: float | None = None
    mark: str = ""  # "best", "worst" or ""


def totals_svg(rows: Iterable[TotalRow], *, part_labels: Sequence[str], title: str) -> str:
    """Stacked bars of the weighted parts, best first (ties by label); SVG text."""
    items = sorted(rows, key=lambda r: (-r.total, r.label))
    n = len(items)
    left = 0.3 + max((_text_width_in(r.label, LABEL_PT) for r in items), default=0.5)
    right = 0.5
    plot_h = max(n, 3) * ROW_PITCH
    width = left + PLOT_WIDTH + right
    height = TOP_MARGIN + plot_h + BOTTOM_MARGIN
    colour = {"best": COLOUR_BEST, "worst": COLOUR_WORST}
    import matplotlib  # loaded by the first chart drawn
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MultipleLocator

    with _RENDER_LOCK, matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes(
            (left / width, BOTTOM_MARGIN / height, PLOT_WIDTH / width, plot_h / height)
        )
        ax.set_xlim(0, 100)
        ax.set_ylim(max(n, 1) - 0.5, -0.5)
        ax.xaxis.set_major_locator(MultipleLocator(10))
        ax.tick_params(axis="x", top=True, labeltop=True, labelsize=7)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel("综合得分（100分），黑线为社会满意度95%区间折算后的范围")
        _title(fig, title, left / width, height)
        ys = list(range(n))
        starts = [0.0] * n
        for i, label in enumerate(part_labels):
            widths = [r.points[i] for r in items]
            ax.barh(
                ys,
                widths,
                left=starts,
                height=0.7,
                color=PART_COLOURS[i % 4],
                label=label,
                gid=f"part-{i}",
            )
            starts = [s + w for s, w in zip(starts, widths, strict=True)]
        ranged = [(y, r) for y, r in zip(ys, items, strict=True) if r.range_low is not None]
        if ranged:
            ax.hlines(
                [y for y, _ in ranged],
                [r.range_low for _, r in ranged],
                [r.range_high for _, r in ranged],
                colors="#000000",
                linewidth=0.8,
                gid="ranges",
            )
        ax.set_yticks(ys, [r.label for r in items], fontsize=LABEL_PT)
        for tick, row in zip(ax.get_yticklabels(), items, strict=True):
            tick.set_color(colour.get(row.mark, COLOUR_OTHER))
            if row.mark:
                tick.set_fontweight("bold")
        for y, row in zip(ys, items, strict=True):
            ax.text(row.total + 0.5, y, f"{row.total:.2f}", va="center", fontsize=LABEL_PT)
        handles = [
            Patch(color=PART_COLOURS[i % 4], label=label) for i, label in enumerate(part_labels)
        ]
        fig.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(left / width, 1 - 0.45 / height),
            ncol=len(handles),
            fontsize=LEGEND_PT,
            frameon=False,
        )
        return _render(fig, title)
