"""Charts of the unit scores and response rates, rendered to SVG text.

Pure rendering: plain Python data in, an SVG document (``str``) out. No Flask,
no database, no pyplot (its global figure registry is not safe in a web
worker); each call builds its own :class:`matplotlib.figure.Figure`.

Text is written as SVG ``<text>`` (``svg.fonttype = "none"``), so the browser
draws the Chinese unit names with its own fonts, a reader can select and
search them (Ctrl+F finds a unit among 330 rows), and the server needs no CJK
font. The font list asked of the browser starts with the common CJK fonts.

The same data gives the same bytes (fixed ``svg.hashsalt``, no date in the
metadata, ties in the order broken by label) on a given installation. Across
machines the bytes can differ by a fraction of a point in text positions,
because matplotlib measures text heights with whatever font it finds; margins
and legend spacing are computed from estimated text widths (a CJK character is
one em), not measured ones, so the layout itself does not depend on the
server's fonts.

Rendering holds a module lock: ``rc_context`` and ``warnings.catch_warnings``
both change process-wide state, so two threads must not render at once.
matplotlib logs "findfont: ..." lines (logging, not warnings) the first time a
listed font is missing; they are harmless.
"""

from __future__ import annotations

import io
import math
import statistics
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

# matplotlib (half a second to import) is loaded by the first chart drawn.
if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Asked of the browser in this order (CSS font-family); the server uses them
# only to measure text, and falls back to DejaVu Sans (shipped with matplotlib).
FONT_FAMILIES = [
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "DejaVu Sans",
]

# Colour-blind-safe pair (Okabe-Ito): blue for the best, vermilion for the worst.
COLOUR_BEST = "#0072B2"
COLOUR_WORST = "#D55E00"
COLOUR_OTHER = "#7f7f7f"
COLOUR_INTERVAL = "#b0b0b0"
COLOUR_FLAG = "#8b0000"

SCORE_MIN = 0.0
SCORE_MAX = 10.0

# Layout, in inches (the SVG is sized in points, 72 to the inch).
ROW_PITCH = 0.13  # one unit per row; 330 rows give a chart about 45 in tall
LABEL_PT = 6.5  # unit names: small, but every one is there and searchable
LEGEND_PT = 7.0
PLOT_WIDTH = 6.0
TOP_MARGIN = 1.05  # title, legend, top axis
RATE_TOP_MARGIN = 0.75  # title, top axis (no legend)
FLAG_OFFSET_PT = 7.0  # gap between the axis edge (and its arrow heads) and a flag
BOTTOM_MARGIN = 0.8  # bottom axis, its label, the note

_RENDER_LOCK = threading.Lock()
_SVG_HASHSALT = "survey-service-charts"
_GLYPH_MISSING = r"Glyph \d+ \(.*\) missing from font\(s\)"


def _rc() -> dict:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": _SVG_HASHSALT,
        "font.family": ["sans-serif"],
        "font.sans-serif": list(FONT_FAMILIES),
        "axes.unicode_minus": False,  # U+2212 is not in every CJK font
        "font.size": 8.0,
    }


@dataclass(frozen=True)
class _Score:
    label: str
    mean: float
    ci_low: float
    ci_high: float
    flag: str


def _field(row, name: str, default=None):
    if isinstance(row, Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def _float(value) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _text_width_in(text: str, size_pt: float) -> float:
    """Estimated width of *text*: a wide (CJK) character is 1 em, others 0.6 em."""
    ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)
    return ems * size_pt / 72.0


def _title(fig: Figure, title: str, x: float, height: float) -> None:
    fig.text(x, 1 - 0.12 / height, title, fontsize=11, va="top", ha="left")


def _render(fig: Figure, title: str) -> str:
    """Serialise *fig* to SVG text (called inside the rc context)."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    FigureCanvasSVG(fig)
    buffer = io.StringIO()
    # "Glyph N (...) missing from font(s) DejaVu Sans." is raised while the text
    # is measured on a server without a CJK font. It is harmless here: the text
    # is emitted as SVG <text> and the browser draws it with its own fonts, so
    # only that one message is silenced (other warnings still escape).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_GLYPH_MISSING, category=UserWarning)
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Title": title})
    return buffer.getvalue()


def _scores(rows: Iterable) -> tuple[list[_Score], int]:
    """Rows with an estimate, best first (ties by label), and how many had none."""
    kept: list[_Score] = []
    left_out = 0
    for row in rows:
        mean = _float(_field(row, "mean"))
        if not math.isfinite(mean):
            left_out += 1
            continue
        kept.append(
            _Score(
                label=str(_field(row, "label", "") or ""),
                mean=mean,
                ci_low=_float(_field(row, "ci_low")),
                ci_high=_float(_field(row, "ci_high")),
                flag=str(_field(row, "flag", "") or ""),
            )
        )
    kept.sort(key=lambda s: (-s.mean, s.label))
    return kept, left_out


def _clip(value: float) -> float:
    return min(max(value, SCORE_MIN), SCORE_MAX)


def score_range(scores) -> tuple[float, float]:
    """The forest plot's x axis: whole points around means and intervals, within 0–10."""
    values = [_clip(s.mean) for s in scores]
    values += [_clip(v) for s in scores for v in (s.ci_low, s.ci_high) if math.isfinite(v)]
    if not values:
        return SCORE_MIN, SCORE_MAX
    low = max(SCORE_MIN, float(math.floor(min(values))))
    high = min(SCORE_MAX, float(math.ceil(max(values))))
    if high - low < 2:  # at least two points wide
        low = max(SCORE_MIN, high - 2)
        high = min(SCORE_MAX, low + 2)
    return low, high


def score_forest_svg(rows: Iterable, *, title: str, highlight: int = 10) -> str:
    """Caterpillar (forest) plot of the unit scores, best at the top; SVG text.

    *rows*: dicts or objects with ``label``, ``mean``, ``ci_low``, ``ci_high``
    (floats on the 10-point scale) and ``flag`` (text, or "").

    - Rows whose ``mean`` is NaN/None (no estimate) are left out; the note under
      the chart says how many. A row with a mean but no interval gets the point
      only.
    - Each unit is one row: a point at its mean and a grey line for its 95%
      interval. The x axis (top and bottom edge) fits the data in whole points
      within 0–10 (:func:`score_range`); an interval that runs past the scale
      is cut at its end and ends in an arrow head.
    - The ``highlight`` best units (十佳 candidates) are blue, the
      ``highlight`` worst (十差 candidates) vermilion; with fewer than
      ``2 * highlight`` units each side gets half, so no unit is both.
    - What a person reads at a glance: the coloured points and the bold
      coloured names of the marked units, and whether their intervals clear the
      grey crowd (the dashed line is the median of the units' means). Every
      unit is still named, in small type, so anyone can find their own unit
      (the names are SVG text: the browser's search finds them). A flag is
      printed at the right of its row in dark red.
    - The height grows with the number of units (``ROW_PITCH`` inches a row).
    """
    scores, left_out = _scores(rows)
    n = len(scores)
    k = max(0, min(int(highlight), n // 2))
    groups = ["best"] * k + ["other"] * (n - 2 * k) + ["worst"] * k
    colour = {"best": COLOUR_BEST, "worst": COLOUR_WORST, "other": COLOUR_OTHER}

    left = 0.3 + max((_text_width_in(s.label, LABEL_PT) for s in scores), default=0.5)
    right = 0.3 + max(
        (FLAG_OFFSET_PT / 72 + _text_width_in(s.flag, LABEL_PT) for s in scores if s.flag),
        default=0.0,
    )
    plot_h = max(n, 3) * ROW_PITCH
    width = left + PLOT_WIDTH + right
    height = TOP_MARGIN + plot_h + BOTTOM_MARGIN

    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MultipleLocator

    with _RENDER_LOCK, matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes(
            (left / width, BOTTOM_MARGIN / height, PLOT_WIDTH / width, plot_h / height)
        )
        ax.set_xlim(*score_range(scores))
        ax.set_ylim(max(n, 1) - 0.5, -0.5)  # row 0 (the best) at the top
        ax.xaxis.set_major_locator(MultipleLocator(1))
        ax.xaxis.set_minor_locator(MultipleLocator(0.5))
        ax.tick_params(axis="x", top=True, labeltop=True, labelsize=7)
        ax.grid(axis="x", which="major", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel("社会满意度得分（10分制），横线为95%置信区间")
        _title(fig, title, left / width, height)

        ys = list(range(n))
        if n:
            median = statistics.median(s.mean for s in scores)
            ax.axvline(median, color="#555555", linestyle="--", linewidth=0.7, gid="median")

        # Intervals, cut at the axis; arrow heads where they were cut.
        with_interval = [
            (y, s)
            for y, s in zip(ys, scores, strict=True)
            if math.isfinite(s.ci_low) and math.isfinite(s.ci_high)
        ]
        segments = [(y, _clip(s.ci_low), _clip(s.ci_high)) for y, s in with_interval]
        if segments:
            ax.hlines(
                [y for y, _, _ in segments],
                [lo for _, lo, _ in segments],
                [hi for _, _, hi in segments],
                colors=COLOUR_INTERVAL,
                linewidth=1.0,
                gid="intervals",
            )
        cut_low = [y for y, s in with_interval if s.ci_low < SCORE_MIN]
        cut_high = [y for y, s in with_interval if s.ci_high > SCORE_MAX]
        for name, ys_cut, x, marker in (
            ("clipped-low", cut_low, SCORE_MIN, "<"),
            ("clipped-high", cut_high, SCORE_MAX, ">"),
        ):
            if ys_cut:
                ax.plot(
                    [x] * len(ys_cut),
                    ys_cut,
                    linestyle="none",
                    marker=marker,
                    markersize=3.5,
                    color="#404040",
                    clip_on=False,
                    gid=name,
                )

        # One point per unit, one artist per group (ids: points-best, ...).
        for group in ("other", "best", "worst"):
            idx = [i for i, g in enumerate(groups) if g == group]
            if not idx:
                continue
            ax.plot(
                [_clip(scores[i].mean) for i in idx],
                idx,
                linestyle="none",
                marker="o",
                markersize=3.0 if group == "other" else 3.6,
                color=colour[group],
                clip_on=False,
                zorder=3,
                gid=f"points-{group}",
            )

        ax.set_yticks(ys, [s.label for s in scores])
        ax.tick_params(axis="y", length=0, labelsize=LABEL_PT, pad=3)
        for tick_label, group in zip(ax.get_yticklabels(), groups, strict=True):
            if group != "other":
                tick_label.set_color(colour[group])
                tick_label.set_fontweight("bold")

        for y, s in zip(ys, scores, strict=True):
            if s.flag:
                ax.annotate(
                    s.flag,
                    xy=(1.0, y),
                    xycoords=ax.get_yaxis_transform(),
                    xytext=(FLAG_OFFSET_PT, 0),
                    textcoords="offset points",
                    fontsize=LABEL_PT,
                    color=COLOUR_FLAG,
                    va="center",
                    ha="left",
                    annotation_clip=False,
                )

        handles = []
        if k:
            handles += [
                Line2D([], [], ls="none", marker="o", color=COLOUR_BEST, label=f"最好 {k} 个"),
                Line2D([], [], ls="none", marker="o", color=COLOUR_WORST, label=f"最差 {k} 个"),
            ]
        handles += [
            Line2D(
                [],
                [],
                ls="none",
                marker="o",
                color=COLOUR_OTHER,
                label="其他单位" if k else "各单位",
            ),
            Line2D([], [], color=COLOUR_INTERVAL, label="95%置信区间"),
            Line2D([], [], ls="none", marker=">", color="#404040", label="区间超出0–10"),
            Line2D([], [], color="#555555", ls="--", label="各单位得分中位数"),
        ]
        # Two-entry legends side by side, spaced by estimated text width
        # (not measured: the server's fonts are not the reader's).
        x = left
        for column in (handles[i : i + 2] for i in range(0, len(handles), 2)):
            fig.legend(
                handles=column,
                loc="upper left",
                bbox_to_anchor=(x / width, 1 - 0.36 / height),
                fontsize=LEGEND_PT,
                frameon=False,
                handlelength=1.5,
                handletextpad=0.8,
            )
            widest = max(_text_width_in(h.get_label(), LEGEND_PT) for h in column)
            x += widest + 4.5 * LEGEND_PT / 72
        note = f"共 {n} 个单位有估计，按得分从高到低排列"
        if left_out:
            note += f"；{left_out} 个单位没有估计（无有效回答），未画出"
        fig.text(left / width, 0.12 / height, note, fontsize=7, color="#404040")
        return _render(fig, title)
