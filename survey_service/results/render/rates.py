"""The units' response rates as a dot chart, rendered to SVG text (see :mod:`.charts`).

Pure rendering, with the same fonts, lock and SVG settings as the score chart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from survey_service.results.render import charts


def response_rate_svg(rows: Iterable, *, title: str) -> str:
    """Dot chart of the units' response rates, highest at the top; SVG text.

    *rows*: dicts or objects with ``label`` and ``rate`` (0–1). NaN/None rates
    are left out and counted in the note. Each unit is a dot on a thin stem from
    0 (one point per unit: group ``rates``), x axis 0–100%, all units named in
    small type.
    """
    kept: list[tuple[str, float]] = []
    left_out = 0
    for row in rows:
        rate = charts._float(charts._field(row, "rate"))
        if not math.isfinite(rate):
            left_out += 1
            continue
        kept.append((str(charts._field(row, "label", "") or ""), rate))
    kept.sort(key=lambda item: (-item[1], item[0]))
    n = len(kept)

    left = 0.3 + max(
        (charts._text_width_in(label, charts.LABEL_PT) for label, _ in kept), default=0.5
    )
    right = 0.4
    plot_h = max(n, 3) * charts.ROW_PITCH
    width = left + charts.PLOT_WIDTH + right
    height = charts.RATE_TOP_MARGIN + plot_h + charts.BOTTOM_MARGIN

    import matplotlib  # loaded by the first chart drawn
    from matplotlib.figure import Figure
    from matplotlib.ticker import MultipleLocator, PercentFormatter

    with charts._RENDER_LOCK, matplotlib.rc_context(charts._rc()):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes(
            (
                left / width,
                charts.BOTTOM_MARGIN / height,
                charts.PLOT_WIDTH / width,
                plot_h / height,
            )
        )
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(max(n, 1) - 0.5, -0.5)
        ax.xaxis.set_major_locator(MultipleLocator(0.1))
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.tick_params(axis="x", top=True, labeltop=True, labelsize=7)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel("应答率")
        charts._title(fig, title, left / width, height)

        ys = list(range(n))
        rates = [min(max(rate, 0.0), 1.0) for _, rate in kept]
        if n:
            ax.hlines(ys, 0.0, rates, colors=charts.COLOUR_INTERVAL, linewidth=1.0, gid="stems")
            ax.plot(
                rates,
                ys,
                linestyle="none",
                marker="o",
                markersize=3.0,
                color=charts.COLOUR_BEST,
                clip_on=False,
                zorder=3,
                gid="rates",
            )
        ax.set_yticks(ys, [label for label, _ in kept])
        ax.tick_params(axis="y", length=0, labelsize=charts.LABEL_PT, pad=3)

        note = f"共 {n} 个单位"
        if left_out:
            note += f"；{left_out} 个单位没有应答率（无样本），未画出"
        fig.text(left / width, 0.12 / height, note, fontsize=7, color="#404040")
        return charts._render(fig, title)
