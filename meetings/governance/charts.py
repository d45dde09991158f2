"""Accessible charts for the governance scorecards and the annual learning report, drawn as inline SVG.

The same markup serves the scorecard page (Chromium) and the report PDF (WeasyPrint), so it keeps to what
both draw: presentation attributes rather than CSS (the Content-Security-Policy forbids inline styles), no
script and no external reference. Each chart is one image with a <title>, and a <desc> holding the caller's
summary and every value, so a screen-reader user gets the whole chart; callers still show the data table.
Charts are 640 units wide, about their natural size on an A4 page, and scale to the width of their container.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
BLUE, INK, GREY, RED = "#005eb8", "#212b32", "#768692", "#d5281b"
FONT = "Frutiger W01, Arial, sans-serif"
NO_DATA = "No data for this period"
PLOT_HEIGHT = 200  # of a column chart's value axis
# XML 1.0 forbids these even escaped: one in a label would make the chart, and an XHTML page, unparseable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Bar:
    """One category and its value (>= 0); `display` is the text printed for the value, e.g. "45%"."""

    label: str
    value: float
    display: str = ""


def _shown(bar: Bar) -> str:
    """The text printed for a bar's value: the caller's, else the number (whole if integral, else 1 decimal)."""
    if bar.display:
        return bar.display
    return f"{bar.value:.0f}" if float(bar.value).is_integer() else f"{bar.value:.1f}"


def _n(x: float) -> str:
    """A number for an attribute: at most one decimal place, as most of an SVG's bytes are coordinates."""
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text(value: str) -> str:
    return str(escape(_NOT_XML.sub("", " ".join(str(value).split()))))


def _clip(label: str, limit: int) -> str:
    """Shortens a label to its space on the chart; the full text stays in the desc and the caller's table."""
    label = " ".join(label.split())
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _top(bars: Sequence[Bar], maximum: float | None, target: float | None) -> float:
    if maximum is not None and maximum > 0:
        return maximum
    return max([b.value for b in bars if math.isfinite(b.value)] + [target or 0, 1])


def _fraction(value: float, top: float) -> float:
    """Where a value sits along the axis, clamped so an outlier cannot draw outside the chart."""
    return min(max(value / top, 0.0), 1.0) if math.isfinite(value) else 0.0


def _desc(summary: str, bars: Sequence[Bar], target: float | None, target_label: str) -> str:
    if not bars:
        return f"{summary} {NO_DATA}."
    parts = [summary, "Values: " + "; ".join(f"{b.label}: {_shown(b)}" for b in bars) + "."]
    if target is not None:
        parts.append(f"Target line: {target_label or _n(target)}.")
    return " ".join(parts)


def _svg(chart_id: str, title: str, desc: str, height: float, body: list[str]) -> Markup:
    cid = _text(chart_id)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lb-chart" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'width="100%" role="img" aria-labelledby="{cid}-title" aria-describedby="{cid}-desc" focusable="false" '
        f'font-family="{FONT}" font-size="13" fill="{INK}">'
        f'<title id="{cid}-title">{_text(title)}</title><desc id="{cid}-desc">{_text(desc)}</desc>'
        + "".join(body) + "</svg>"
    )


def _no_data(chart_id: str, title: str, summary: str) -> Markup:
    body = [f'<text x="{WIDTH // 2}" y="34" text-anchor="middle">{NO_DATA}</text>']
    return _svg(chart_id, title, _desc(summary, [], None, ""), 56, body)


def _text_at(x: float, y: float, text: str, attributes: str = "") -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}"{attributes}>{_text(text)}</text>'


def _target_line(x1: float, y1: float, x2: float, y2: float) -> str:
    return (f'<line class="lb-chart__target" x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
            f'stroke="{RED}" stroke-width="2" stroke-dasharray="6 4"/>')


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, summary: str, maximum: float | None = None,
              target: float | None = None, target_label: str = "") -> Markup:
    """Horizontal bars, one row per category in the order given: label on the left, bar, value at its end.

    28 units a row; `chart_id` must be unique in the page, as it prefixes the ids of the title and desc.
    """
    bars = list(bars)
    if not bars:
        return _no_data(chart_id, title, summary)
    top = _top(bars, maximum, target)
    row, thickness, x0 = 28, 18, 200  # x0: room for a 24-character label at 13 units
    span = WIDTH - x0 - max(30, 8 + 7.8 * max(len(_shown(b)) for b in bars))
    y0 = 26 if target is not None else 6  # a band above the rows for the target's label
    rects, labels, values = [], [], []
    for i, bar in enumerate(bars):
        y, length = y0 + i * row, span * _fraction(bar.value, top)
        if length > 0:  # a zero bar keeps its label and "0", but draws no sliver
            rects.append(f'<rect x="{x0}" y="{_n(y + (row - thickness) / 2)}" width="{_n(length)}" '
                         f'height="{thickness}"/>')
        labels.append(_text_at(x0 - 8, y + row / 2 + 4.5, _clip(bar.label, 24)))
        values.append(_text_at(x0 + length + 6, y + row / 2 + 4.5, _shown(bar)))
    bottom = y0 + len(bars) * row
    body = [f'<g class="lb-chart__bars" fill="{BLUE}">{"".join(rects)}</g>',
            f'<g class="lb-chart__label" text-anchor="end">{"".join(labels)}</g>',
            f'<g class="lb-chart__value">{"".join(values)}</g>',
            f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{bottom}" stroke="{GREY}"/>']
    if target is not None:
        x = x0 + span * _fraction(target, top)
        body.append(_target_line(x, y0 - 4, x, bottom))
        flag = _clip(target_label, 24)
        # Centred over its line, unless that would push it off the right-hand edge.
        anchor = "end" if x + 3.9 * len(flag) > WIDTH else "middle"
        body.append(_text_at(x, y0 - 9, flag, f' class="lb-chart__target" fill="{RED}" text-anchor="{anchor}"'))
    return _svg(chart_id, title, _desc(summary, bars, target, target_label), bottom + 6, body)


def _labelled(count: int, step: int) -> list[int]:
    """Every `step`th column from the first, and always the last, dropping the one before it if they would meet."""
    chosen = list(range(0, count, step))
    if chosen[-1] != count - 1:
        if len(chosen) > 1 and count - 1 - chosen[-1] < step:
            chosen.pop()
        chosen.append(count - 1)
    return chosen


def column_chart(chart_id: str, title: str, bars: Sequence[Bar], *, summary: str, maximum: float | None = None,
                 target: float | None = None, target_label: str = "") -> Markup:
    """Vertical columns in the order given (e.g. one per meeting over time), with a value axis at 0, half and top.

    X labels are clipped to 14 characters and, when columns are too narrow for them all, only every nth is
    shown (always the first and last); values are printed above the columns only when every one fits.
    """
    bars = list(bars)
    if not bars:
        return _no_data(chart_id, title, summary)
    top = _top(bars, maximum, target)
    flag = _clip(target_label, 16) if target is not None else ""
    left, right, y0 = 44, max(44.0, 10 + 7.8 * len(flag)), 18  # right: room for the target's label
    bottom = y0 + PLOT_HEIGHT
    slot = (WIDTH - left - right) / len(bars)
    width = min(slot * 0.7, 56)
    x_labels = [_clip(b.label, 14) for b in bars]
    step = max(1, math.ceil((10 + 6.2 * max(len(t) for t in x_labels)) / slot))
    show_values = 4 + 6.2 * max(len(_shown(b)) for b in bars) <= slot
    body = [f'<g stroke="{GREY}" stroke-width="0.5">'
            + "".join(f'<line x1="{left}" y1="{_n(y)}" x2="{_n(WIDTH - right)}" y2="{_n(y)}"/>'
                      for y in (y0, y0 + PLOT_HEIGHT / 2)) + "</g>",
            '<g class="lb-chart__tick" text-anchor="end" font-size="11">'
            + "".join(_text_at(left - 6, bottom - PLOT_HEIGHT * f + 4, _n(top * f)) for f in (0, 0.5, 1)) + "</g>"]
    rects, values = [], []
    for i, bar in enumerate(bars):
        centre, height = left + slot * (i + 0.5), PLOT_HEIGHT * _fraction(bar.value, top)
        if height > 0:
            rects.append(f'<rect x="{_n(centre - width / 2)}" y="{_n(bottom - height)}" width="{_n(width)}" '
                         f'height="{_n(height)}"/>')
        if show_values:
            values.append(_text_at(centre, bottom - height - 4, _shown(bar)))
    body += [f'<g class="lb-chart__bars" fill="{BLUE}">{"".join(rects)}</g>',
             f'<g class="lb-chart__value" text-anchor="middle" font-size="11">{"".join(values)}</g>',
             '<g class="lb-chart__label" text-anchor="middle" font-size="11">'
             + "".join(_text_at(left + slot * (i + 0.5), bottom + 16, x_labels[i])
                       for i in _labelled(len(bars), step)) + "</g>",
             f'<line x1="{left}" y1="{bottom}" x2="{_n(WIDTH - right)}" y2="{bottom}" stroke="{GREY}"/>']
    if target is not None:
        y = bottom - PLOT_HEIGHT * _fraction(target, top)
        body.append(_target_line(left, y, WIDTH - right, y))
        body.append(_text_at(WIDTH - right + 4, y + 4, flag, f' class="lb-chart__target" fill="{RED}"'))
    return _svg(chart_id, title, _desc(summary, bars, target, target_label), bottom + 26, body)
