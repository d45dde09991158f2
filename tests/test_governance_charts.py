"""meetings/governance/charts.py: inline SVG charts that parse, stand alone for a screen reader, keep to the
Content-Security-Policy, draw to scale, and render in WeasyPrint."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import weasyprint
from markupsafe import Markup
from pypdf import PdfReader

from meetings.governance.charts import Bar, bar_chart, column_chart

SVG = "http://www.w3.org/2000/svg"
NS = {"svg": SVG}
RED = "#d5281b"
CHARTS = [bar_chart, column_chart]
HOSTILE = '<script>alert(1)</script> & "x"'


@pytest.fixture(autouse=True)
def db():
    """Overrides the suite's database fixture: these are pure functions, so no app is built for them."""
    yield None


def draw(chart, bars, **options):
    options.setdefault("summary", "A summary.")
    return chart("c", "A chart", bars, **options)


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def shapes(root: ET.Element) -> list[ET.Element]:
    return root.findall("svg:g[@class='lb-chart__bars']/svg:rect", NS)


def texts(root: ET.Element, group: str) -> list[str]:
    return [t.text for t in root.findall(f"svg:g[@class='{group}']/svg:text", NS)]


def target_lines(root: ET.Element) -> list[ET.Element]:
    return [line for line in root.iter(f"{{{SVG}}}line") if line.get("stroke") == RED]


def size(rect: ET.Element, chart) -> float:
    return float(rect.get("width" if chart is bar_chart else "height"))


def view_box(root: ET.Element) -> list[float]:
    return [float(n) for n in root.get("viewBox").split()]


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize("bars", [[Bar("Near miss", 3)], []], ids=["data", "empty"])
def test_chart_is_one_labelled_svg_image(chart, bars):
    markup = chart("cases-2026", "Cases by category", bars, summary="Mostly near misses.")
    assert isinstance(markup, Markup)
    root = parse(markup)
    assert root.tag == f"{{{SVG}}}svg" and root.get("class") == "lb-chart"
    assert root.get("width") == "100%" and root.get("role") == "img"
    width, height = view_box(root)[2:]
    assert width > height > 0
    assert root.get("aria-labelledby") == "cases-2026-title" and root.get("aria-describedby") == "cases-2026-desc"
    title, desc = list(root)[:2]
    assert (title.tag, title.get("id"), title.text) == (f"{{{SVG}}}title", "cases-2026-title", "Cases by category")
    assert (desc.tag, desc.get("id")) == (f"{{{SVG}}}desc", "cases-2026-desc")
    assert desc.text.startswith("Mostly near misses.")


@pytest.mark.parametrize("chart", CHARTS)
def test_desc_gives_the_summary_and_every_value_in_words(chart):
    bars = [Bar("Discrepancy or error", 12), Bar("Near miss", 3.0), Bar("Other", 7.5), Bar("Rate", 0.45, "45%")]
    root = parse(draw(chart, bars, summary="Most were discrepancies.", target=10, target_label="Target 10"))
    assert root.find("svg:desc", NS).text == (
        "Most were discrepancies. Values: Discrepancy or error: 12; Near miss: 3; Other: 7.5; Rate: 45%."
        " Target line: Target 10.")
    assert texts(root, "lb-chart__value") == ["12", "3", "7.5", "45%"]


@pytest.mark.parametrize("chart", CHARTS)
def test_hostile_text_is_escaped_and_still_parses(chart):
    markup = chart('x" onload="alert(1)', "<b>Title</b>", [Bar(HOSTILE, 1, "<i>1</i>"), Bar("nul\x00bell\x07", 2)],
                   summary="Tom & Jerry <script>", target=1, target_label="<svg onload=alert(1)>")
    assert "<script" not in markup and "<b>" not in markup and "<i>" not in markup and "<svg onload" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;" in markup
    root = parse(markup)
    assert "onload" not in root.attrib
    assert root.find("svg:title", NS).text == "<b>Title</b>"
    assert f"{HOSTILE}: <i>1</i>; nulbell: 2." in root.find("svg:desc", NS).text


@pytest.mark.parametrize("chart", CHARTS)
def test_no_inline_style_script_or_external_reference(chart):
    for options in ({}, {"target": 5, "target_label": "Target 5"}):
        markup = draw(chart, [Bar("style", 4), Bar("A", 9)], **options)
        assert "style=" not in markup and "<style" not in markup and "href" not in markup
        for element in parse(markup).iter():
            assert element.tag.split("}")[1] not in {"style", "script", "image", "use", "a", "foreignObject"}
            assert "style" not in element.attrib and not any(name.startswith("on") for name in element.attrib)


@pytest.mark.parametrize("chart", CHARTS)
def test_target_line_only_when_asked_for_and_to_scale(chart):
    bars = [Bar("Full", 100), Bar("Part", 20)]
    assert not target_lines(parse(draw(chart, bars, maximum=100)))
    root = parse(draw(chart, bars, maximum=100, target=50, target_label="Target 50%"))
    (line,) = target_lines(root)
    assert line.get("stroke-dasharray")
    assert root.find("svg:text[@class='lb-chart__target']", NS).text == "Target 50%"
    full = shapes(root)[0]
    if chart is bar_chart:  # halfway along the full bar, from its start
        assert line.get("x1") == line.get("x2")
        assert float(line.get("x1")) == pytest.approx(float(full.get("x")) + float(full.get("width")) / 2, abs=0.1)
    else:  # halfway up the full column, from the baseline
        assert line.get("y1") == line.get("y2")
        assert float(line.get("y1")) == pytest.approx(float(full.get("y")) + float(full.get("height")) / 2, abs=0.1)


@pytest.mark.parametrize("chart", CHARTS)
def test_bars_are_proportional_to_their_values(chart):
    first, second = shapes(parse(draw(chart, [Bar("A", 40), Bar("B", 10)], maximum=100)))
    assert size(first, chart) / size(second, chart) == pytest.approx(4, rel=0.01)


@pytest.mark.parametrize("chart", CHARTS)
def test_values_are_clamped_to_the_axis(chart):
    root = parse(draw(chart, [Bar("Over", 150), Bar("Top", 100), Bar("Below", -5)], maximum=100, target=300))
    over, top = shapes(root)  # the negative value draws no bar at all
    assert size(over, chart) == size(top, chart)
    width, height = view_box(root)[2:]
    assert float(over.get("x")) + float(over.get("width")) <= width and float(over.get("y")) >= 0
    assert "Over: 150" in root.find("svg:desc", NS).text  # the words still tell the true value


@pytest.mark.parametrize("chart", CHARTS)
def test_axis_defaults_to_the_largest_value_or_target(chart):
    bars = [Bar("A", 10), Bar("B", 5)]
    assert draw(chart, bars) == draw(chart, bars, maximum=10)
    assert draw(chart, bars, target=20) == draw(chart, bars, maximum=20, target=20)
    assert draw(chart, [Bar("A", 0)]) == draw(chart, [Bar("A", 0)], maximum=1)


def test_zero_bar_keeps_its_label_and_value():
    root = parse(draw(bar_chart, [Bar("Nothing", 0), Bar("Some", 4)]))
    assert texts(root, "lb-chart__label") == ["Nothing", "Some"]
    assert texts(root, "lb-chart__value") == ["0", "4"]
    assert len(shapes(root)) == 1


def test_long_labels_are_shortened_on_the_chart_but_whole_in_the_desc():
    label = "A very long category label that will never fit beside its bar"
    root = parse(draw(bar_chart, [Bar(label, 3)]))
    (shown,) = texts(root, "lb-chart__label")
    assert shown.endswith("…") and len(shown) <= 24 and label.startswith(shown[:-1])
    assert label in root.find("svg:desc", NS).text


@pytest.mark.parametrize("chart", CHARTS)
def test_empty_chart_says_there_is_no_data(chart):
    root = parse(chart("none", "Cases", [], summary="No cases were reviewed.", target=5, target_label="Target 5"))
    assert [t.text for t in root.iter(f"{{{SVG}}}text")] == ["No data for this period"]
    assert root.find("svg:desc", NS).text == "No cases were reviewed. No data for this period."
    assert view_box(root)[3] < 100 and not target_lines(root)


@pytest.mark.parametrize("count", [37, 48, 50])
def test_many_columns_label_only_some_but_always_the_first_and_last(count):
    bars = [Bar(f"{n} Mar 2026", n) for n in range(1, count + 1)]
    root = parse(draw(column_chart, bars))
    shown = texts(root, "lb-chart__label")
    assert 2 < len(shown) < count and shown[0] == "1 Mar 2026" and shown[-1] == f"{count} Mar 2026"
    places = [float(t.get("x")) for t in root.findall("svg:g[@class='lb-chart__label']/svg:text", NS)]
    assert all(right - left >= 6 * 11 for left, right in zip(places, places[1:]))  # room for "50 Mar 2026"
    assert texts(root, "lb-chart__value") == []  # no room above such narrow columns


def test_few_columns_label_every_one_and_show_values():
    root = parse(draw(column_chart, [Bar(f"{day} Jan 2026", 10 * day, f"{10 * day}%") for day in range(1, 6)]))
    assert texts(root, "lb-chart__label") == [f"{day} Jan 2026" for day in range(1, 6)]
    assert texts(root, "lb-chart__value") == ["10%", "20%", "30%", "40%", "50%"]


def test_output_is_deterministic_small_and_rounded():
    bars = [Bar(f"Meeting {n}", n * 1.2345) for n in range(50)]
    markup = draw(column_chart, bars, maximum=77.777, target=33.333, target_label="Target")
    assert markup == draw(column_chart, bars, maximum=77.777, target=33.333, target_label="Target")
    assert len(markup.encode()) < 20_000
    numbers = re.findall(r' (?:x|y|x1|x2|y1|y2|width|height)="([^"%]*)"', markup)
    numbers += parse(markup).get("viewBox").split()
    assert numbers and all(re.fullmatch(r"-?\d+(\.\d)?", n) for n in numbers)


@pytest.mark.parametrize("variant", [{}, {"pdf_variant": "pdf/ua-1", "pdf_tags": True}], ids=["plain", "tagged"])
def test_weasyprint_draws_charts_inline(variant):
    charts = [draw(bar_chart, [Bar("Zyxwv", 12), Bar("Qwerty", 0)], target=10, target_label="Target 10"),
              draw(column_chart, [Bar("Vutsr", 4, "40%"), Bar("Ponml", 6, "60%")]),
              draw(bar_chart, [])]
    html = f'<!doctype html><html lang="en-GB"><title>Charts</title><body>{"".join(charts)}</body></html>'
    pdf = weasyprint.HTML(string=html).write_pdf(**variant)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for word in ("Zyxwv", "Qwerty", "12", "Target 10", "Vutsr", "Ponml", "60%", "No data for this period"):
        assert word in text
