"""Governance, as a site's people use it (issue #12).

Fernhill's chair opens the governance page from the menu, looks at 2025 (the year tests/test_governance.py
counts by hand): the headline figures, each chart with its name and its table, and each reporter's part. A
period that ends before it starts is refused beside the fields, keeping what was typed. The chair downloads
the annual report and the incident export, then searches the case library as it updates in place and opens
a case: its learning, without the patient's name the case was submitted with. A member, on a phone, sees
only their own part of the same page, and the library, without scrolling sideways."""
from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests import test_governance
from tests.browser.conftest import PHONE, assert_accessible, sign_in, watch_errors
from tests.conftest import approve_for_room, signed_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
department = test_governance.department  # the hand-counted site year, as a fixture of this module too
SITE = "Fernhill General Hospital"
CHARTS = ("Reporting staff at each meeting", "Cases discussed by kind", "Cases discussed by modality",
          "Discrepancies and near misses by type", "Actions")
REPORTERS = ("Dr Ada Quill", "Dr Yusuf Penrose", "Zara Whitlock")


@pytest.fixture
def year(app, department):
    """The department's 2025 with its four presented cases approved by the chair: in the case library."""
    chair = signed_in(app.test_client(), department.chair)
    for case in (department.cases.a, department.cases.b, department.cases.c, department.cases.e):
        assert approve_for_room(chair, case).status_code == 303
    return department


def _follow_menu(page, name: str) -> None:
    """Click a header menu link, opening "More" first when the link did not fit in the header."""
    menu = page.get_by_role("navigation", name="Menu")
    link = menu.get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        menu.get_by_role("button", name="More").click()
    link.click()
    page.wait_for_load_state()


def _no_sideways_scroll(phone) -> None:
    # With is_mobile Chromium widens the layout viewport to fit overflowing content: compare with the phone too.
    scroll, client = phone.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client and scroll <= PHONE["width"], f"{phone.url} scrolls sideways: {scroll}px > {client}px"


def _glance(page, key: str):
    """The value beside `key` in the page's "At a glance" list."""
    row = page.locator(".lb-glance > div").filter(has=page.locator("dt").get_by_text(key, exact=True))
    return row.locator("dd")


def _show_year(page, year: str) -> None:
    page.get_by_label("Period").select_option(year)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator(".nhsuk-lede-text")).to_contain_text(f"{year}. Meetings held")


def test_the_chair_reads_the_year_downloads_the_report_and_searches_the_library(page, year):
    sign_in(page, year.chair.email, PASSWORD)
    _follow_menu(page, "Governance")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Governance: {SITE}")

    # 1. The year 2025: the headline figures, each chart named with its table, and every reporter.
    _show_year(page, "2025")
    expect(_glance(page, "Meetings held")).to_contain_text("3 of 6 expected")
    expect(_glance(page, "Meetings held")).to_contain_text("Below target")
    expect(_glance(page, "Reporting staff at half the meetings or more")).to_contain_text("2 of 3")
    expect(_glance(page, "Cases")).to_contain_text("3 submitted, 4 discussed (2 great pickups)")
    expect(_glance(page, "Actions")).to_contain_text("6 opened, 2 closed, 3 overdue on 31 Dec 2025")
    expect(page.locator("svg[role=img]")).to_have_count(len(CHARTS))
    for title in CHARTS:
        section = page.get_by_role("region", name=title, exact=True)
        expect(section.get_by_role("img", name=title, exact=True)).to_have_count(1)
        expect(section.get_by_role("table", name=f"{title}: the figures")).to_be_visible()
    expect(page.get_by_role("img", name="Reporting staff at each meeting")).to_have_accessible_description(
        re.compile("reached 50% at 3 of 3 meetings; the mean was 72%"))
    reporters = page.get_by_role("region", name="Each reporter", exact=True).get_by_role("rowheader")
    expect(reporters).to_have_text(list(REPORTERS))
    assert_accessible(page)

    # 2. Dates the wrong way round are refused beside the fields, keeping what was typed; then the right way.
    page.get_by_text("Choose dates").click()
    page.get_by_label("From").fill("2025-06-01")
    page.get_by_label("To", exact=True).fill("2025-05-01")
    page.get_by_role("button", name="Show these dates").click()
    expect(page.locator("#period-error")).to_have_text(
        "Error: The end date must be the same as or after the start date")
    expect(page.get_by_role("alert")).to_contain_text("Showing the last twelve months instead")
    expect(page.get_by_label("From")).to_have_value("2025-06-01")
    expect(page.get_by_label("From")).to_have_accessible_description(re.compile("end date must be the same as"))
    expect(page.get_by_label("To", exact=True)).to_have_value("2025-05-01")
    assert_accessible(page)
    page.get_by_label("To", exact=True).fill("2025-06-30")
    page.get_by_label("From").fill("2025-01-01")
    page.get_by_role("button", name="Show these dates").click()
    expect(page.locator(".nhsuk-lede-text")).to_contain_text("1 Jan 2025 to 30 Jun 2025 (181 days)")
    expect(page.locator("#period-error")).to_have_count(0)
    expect(_glance(page, "Meetings held")).to_contain_text("2 of 3 expected")

    # 3. The annual report for 2025 and this half-year's incident export.
    page.get_by_label("Annual learning report for").select_option("2025")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the annual report (PDF)").click()
    assert download.value.suggested_filename == "annual-learning-report-fgh-2025.pdf"
    report = PdfReader(download.value.path())
    text = " ".join(" ".join(p.extract_text().split()) for p in report.pages)
    assert SITE in text and "Review the lung windows on every CT" in text, text
    assert "Quartermaine" not in text and "Dr Yusuf Penrose" not in text
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("discrepancy cases for incident reporting")).click()
    assert download.value.suggested_filename == "incidents-fgh-2025-01-01-to-2025-06-30.csv"
    export = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(export)))
    assert rows[0] == ["Lightbox reference", "Date discussed", "Site", "Kind", "Pathway stage", "Modality",
                       "Body region", "Discrepancy type", "Clinical significance", "How it came to light",
                       "Description", "Learning points"]
    assert [row[0] for row in rows[1:]] == [f"C{year.cases.a.id}", f"C{year.cases.b.id}"]
    assert "Quartermaine" not in export

    # 4. The case library: results update in place as the chair types and chooses, without a new page.
    _follow_menu(page, "Case library")
    expect(page.get_by_role("heading", level=1)).to_have_text("Case library")
    results = page.locator("#library-results").get_by_role("status")
    expect(results).to_contain_text("4 cases.")
    assert_accessible(page)
    page.evaluate("() => { window.noReloadMarker = true; }")
    page.get_by_label("Search", exact=True).press_sequentially("windows", delay=30)
    expect(results).to_contain_text("1 case matches this search")
    page.get_by_label("Modality").select_option(label="MR")
    expect(results).to_contain_text("0 cases match this search")
    page.get_by_label("Modality").select_option(label="CT")
    expect(results).to_contain_text("1 case matches this search")
    expect(page).to_have_url(re.compile(r"/library/\?q=windows&modality=CT"))
    assert page.evaluate("() => window.noReloadMarker === true"), "the library page was loaded again"
    page.locator("#library-results").get_by_role("link", name="CT chest").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("CT chest")
    learning = page.locator(".nhsuk-inset-text", has=page.get_by_role("heading", name="Learning points"))
    expect(learning).to_contain_text("Review the lung windows on every CT")
    expect(page.locator("body")).not_to_contain_text("Quartermaine")
    expect(page.locator("body")).not_to_contain_text("Zebedee")
    assert_accessible(page)
    assert not page.errors, page.errors


def test_a_member_on_a_phone_sees_the_library_and_only_their_part(browser, live_server, year):
    context = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    watch_errors(phone)
    sign_in(phone, year.yusuf.email, PASSWORD)
    _follow_menu(phone, "Case library")
    expect(phone.locator("#library-results").get_by_role("status")).to_contain_text("4 cases.")
    _no_sideways_scroll(phone)
    assert_accessible(phone)

    _follow_menu(phone, "Governance")
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"Governance: {SITE}")
    _show_year(phone, "2025")
    part = phone.get_by_role("region", name="Your part", exact=True)
    expect(part.get_by_role("rowheader")).to_have_text(["Dr Yusuf Penrose"])
    expect(part).to_contain_text("1 of 3 (33%)")
    expect(phone.get_by_role("heading", name="Each reporter")).to_have_count(0)
    expect(phone.locator("main")).not_to_contain_text("Dr Ada Quill")
    expect(phone.get_by_role("button", name="Download the annual report (PDF)")).to_have_count(0)
    _no_sideways_scroll(phone)
    assert_accessible(phone)
    context.close()
    assert not phone.errors, phone.errors
