"""A regional meeting across a network of trusts, as the people in it use Lightbox.

A local chair at Oakhurst forwards a case their meeting presented; the regional chair at Riverside finds it in
triage without any site's name, accepts it into the regional meeting, approves its anonymisation and runs the
meeting from the console. Members of Oakhurst and Riverside, and a guest from a teleradiology company, follow
on their phones and sign the register; the chair agrees a network action, which gives every site its own copy.
Nothing the room or the chair is shown names a site; the minutes say only how many sites were there. Oakhurst's
risk staff close their site's copy and see how far the network has got."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from meetings.extensions import db
from meetings.models import Action, Case, CaseStatus, MeetingStatus, Role
from tests.browser.conftest import PHONE, assert_accessible, sign_in, watch_errors
from tests.conftest import approve_for_room, signed_in
from tests.factories import PASSWORD, make_case, make_meeting, make_site, make_user

pytestmark = pytest.mark.browser
WITHIN_3_SECONDS = 3_000
REGIONAL_TITLE = "North regional peer learning meeting"
ACTION = "Add a lung-window check to every CT chest reporting template"
EVIDENCE = "Template changed at Oakhurst and circulated to all reporters"
# Case-insensitive for the names; the codes as whole upper-case words, so "Friday" or "search" are not a site.
SITE_NAME = re.compile(r"oakhurst|riverside|fenwick", re.IGNORECASE)
SITE_CODE = re.compile(r"\b(OGH|RCH|FRI)\b")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (64, 48), 90).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def network(app):
    """Three trusts; a local chair, a member and risk staff at Oakhurst; the regional chair and a member at
    Riverside; Oakhurst's ended meeting with a presented, approved case; and today's regional meeting."""
    oakhurst = make_site(name="Oakhurst General Hospital", code="OGH")
    riverside = make_site(name="Riverside Community Hospital", code="RCH")
    fenwick = make_site(name="Fenwick Royal Infirmary", code="FRI")
    people = SimpleNamespace(
        oakhurst=oakhurst, riverside=riverside, fenwick=fenwick,
        local_chair=make_user(Role.CHAIR, Role.MEMBER, name="Dr Local Chair", home_site=oakhurst),
        regional_chair=make_user(Role.CHAIR, Role.REGIONAL_CHAIR, name="Dr Regional Chair", home_site=riverside),
        oakhurst_member=make_user(Role.MEMBER, name="Dr Oak Member", home_site=oakhurst),
        riverside_member=make_user(Role.MEMBER, name="Dr River Member", home_site=riverside),
        oakhurst_risk=make_user(Role.RISK, name="Olive Risk", home_site=oakhurst),
    )
    local_meeting = make_meeting(chair=people.local_chair, title="Oakhurst chest REAL meeting",
                                 status=MeetingStatus.ENDED, days_ahead=-2)
    people.local_case = make_case(
        people.oakhurst_member, local_meeting, {"patient_name": "Wilhelmina Strudwick"},
        status=CaseStatus.PRESENTED, images=((_png(), "Key image, OGH PACS"),),
        clinical_question="Cough for six weeks at Oakhurst General. ?Mass",
        outcome_text="Transferred to Riverside Community Hospital (RCH): a 14 mm nodule in the right upper lobe.",
        learning_points="Check the lung windows on every CT chest.")
    # Starts now, so the phones can follow it and it is offered in triage.
    people.meeting = make_meeting(chair=people.regional_chair, title=REGIONAL_TITLE, scope="regional", site=None,
                                  days_ahead=0)
    db.session.commit()
    assert approve_for_room(signed_in(app.test_client(), people.local_chair), people.local_case).status_code == 303
    return people


def _main_text(page, leaving_out: str = "") -> str:
    # textContent, not innerText: a CSS text-transform must not hide or invent an upper-case site code.
    return page.locator("main").evaluate("""(main, leavingOut) => {
        const copy = main.cloneNode(true);
        if (leavingOut) copy.querySelectorAll(leavingOut).forEach(element => element.remove());
        return copy.textContent;
    }""", leaving_out)


def _assert_no_site(page, leaving_out: str = "") -> None:
    text = _main_text(page, leaving_out)
    named = SITE_NAME.findall(text) + SITE_CODE.findall(text)
    assert not named, f"{page.url} names a site in its main content: {named}\n{' '.join(text.split())}"


def _no_sideways_scroll(phone) -> None:
    # With is_mobile Chromium widens the layout viewport to fit overflowing content, so clientWidth alone
    # proves little: compare with the phone's own width too.
    scroll, client = phone.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client and scroll <= PHONE["width"], f"{phone.url} scrolls sideways: {scroll}px > {client}px"


def _desktop(browser, live_server):
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    watch_errors(page)
    return page


def _phone(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    watch_errors(phone)
    return phone


def test_a_regional_meeting_with_attendees_from_two_sites(browser, live_server, page, network):
    meeting = network.meeting

    # 1. Oakhurst's chair forwards the presented case from its page.
    sign_in(page, network.local_chair.email, PASSWORD)
    page.goto(f"/cases/{network.local_case.id}")
    expect(page.get_by_role("heading", name="Regional peer learning")).to_be_visible()
    page.get_by_role("button", name="Forward to the regional queue").click()
    expect(page.locator("#flashes")).to_contain_text("Forwarded to the regional queue. The regional chair sees it")
    expect(page.get_by_text("Forwarded to the regional queue on")).to_be_visible()
    expect(page.get_by_role("button", name="Forward to the regional queue")).to_have_count(0)
    assert_accessible(page)
    copy_id = db.session.scalar(select(Case.id).where(Case.forwarded_from_id == network.local_case.id))

    # 2. The regional chair finds it in triage, with no site's name, and accepts it into the regional meeting.
    chair = _desktop(browser, live_server)
    sign_in(chair, network.regional_chair.email, PASSWORD)
    chair.get_by_role("link", name="Triage").click()
    expect(chair.get_by_role("heading", level=1)).to_have_text("Triage")
    card = chair.locator(f"#triage-case-{copy_id}")
    expect(card).to_contain_text("Regional")
    expect(card).to_contain_text("forwarded from a local meeting")
    expect(card).to_contain_text("Cough for six weeks")
    _assert_no_site(chair)
    assert_accessible(chair)
    card.get_by_label("Meeting").select_option(label=f"{REGIONAL_TITLE}, {meeting.starts_at:%d %b %Y}")
    card.get_by_role("button", name=re.compile(r"^Accept")).click()
    expect(card).to_contain_text(f"Scheduled for {REGIONAL_TITLE}")

    # 3. From the case's page to its review: the regional chair approves the anonymisation.
    card.get_by_role("link", name=re.compile(r"^CT chest")).click()
    expect(chair.get_by_text("Regional case ·")).to_be_visible()
    expect(chair.get_by_text("holds no identifiers")).to_be_visible()
    _assert_no_site(chair)
    assert_accessible(chair)
    chair.get_by_role("link", name="Review the anonymisation").click()
    expect(chair.get_by_role("button", name="Approve for presentation")).to_be_visible()
    _assert_no_site(chair)
    chair.get_by_role("button", name="Approve for presentation").click()
    expect(chair.locator("#review-state")).to_contain_text("Anonymisation: reviewed")
    _assert_no_site(chair)

    # 4. The console: start the meeting (the case goes on screen), open the register.
    chair.goto(f"/meetings/{meeting.id}/console")
    expect(chair.get_by_role("heading", level=1)).to_have_text(REGIONAL_TITLE)
    join_path = re.sub(r"^https?://[^/]+", "", chair.locator("a[href*='/j/']").first.get_attribute("href"))
    chair.get_by_role("button", name="Start the meeting").click()
    expect(chair.locator(".lb-live-queue__item--current")).to_contain_text("CT chest")
    chair.get_by_role("button", name="Open the register").click()
    presence = chair.locator("#console-register .lb-presence-code")
    expect(presence).to_have_text(re.compile(r"^\d{4}$"))
    code = presence.inner_text()
    projector = chair.context.new_page()
    watch_errors(projector)
    projector.goto(f"/meetings/{meeting.id}/projector")
    expect(projector.locator(".lb-presence-code").first).to_have_text(code)

    # 5. Two members, of Oakhurst and Riverside, sign in on their phones and sign with one tap and the code.
    phones = []
    for person in (network.oakhurst_member, network.riverside_member):
        phone = _phone(browser, live_server)
        sign_in(phone, person.email, PASSWORD)
        phone.goto(join_path)
        expect(phone.locator("#live h2")).to_have_text("CT chest")
        _no_sideways_scroll(phone)
        phone.get_by_role("link", name="Sign the attendance register").click()
        expect(phone.get_by_text(f"You are signing as {person.name}")).to_be_visible()
        phone.get_by_label("Presence code").fill(code)
        phone.get_by_role("button", name=f"Sign the register as {person.name}").click()
        expect(phone.get_by_role("heading", name="You are on the register")).to_be_visible()
        _no_sideways_scroll(phone)
        phone.get_by_role("link", name="Follow the meeting").click()
        expect(phone.locator("#live h2")).to_have_text("CT chest")
        phones.append(phone)
    assert_accessible(phones[0])

    # A guest from a teleradiology company signs with the form.
    guest = _phone(browser, live_server)
    guest.goto(join_path)
    guest.get_by_role("link", name="Sign the attendance register").click()
    guest.get_by_label("Full name").fill("Dr Visiting Guest")
    guest.get_by_label("Email address").fill("visiting.guest@teleradiology.example.org")
    guest.get_by_label("Consultant radiologist").check()
    guest.get_by_label("GMC (doctors)").check()
    guest.get_by_label("Registration number").fill("7000002")
    guest.get_by_label("Where you work").fill("Farholm Teleradiology")
    guest.get_by_label("Presence code").fill(code)
    _no_sideways_scroll(guest)
    assert_accessible(guest)
    guest.get_by_role("button", name="Sign the register").click()
    expect(guest.get_by_role("heading", name="You are on the register")).to_be_visible()
    guest.get_by_role("link", name="Follow the meeting").click()
    phones.append(guest)
    expect(chair.get_by_text("3 signed the register")).to_be_visible(timeout=WITHIN_3_SECONDS)

    # Every stage the room sees, each adding to the last: the question, the report, the outcome that named
    # Riverside, the learning. The site names show as [SITE] on the phones and the projector.
    for stage, shown in (("1. Question and images", "Cough for six weeks at [SITE]. ?Mass"),
                         ("2. Original report", "No focal lung lesion."),
                         ("3. What was found later", "Transferred to [SITE] ([SITE]): a 14 mm nodule"),
                         ("4. Discussion and learning", "Check the lung windows on every CT chest.")):
        chair.get_by_role("button", name=stage).click()
        expect(chair.get_by_role("button", name=stage)).to_have_attribute("aria-pressed", "true")
        for screen in [*phones, projector]:
            expect(screen.locator("main")).to_contain_text(shown, timeout=WITHIN_3_SECONDS)
            _assert_no_site(screen)
        for phone in phones:
            _no_sideways_scroll(phone)
    # The console names sites only in the owner menu, where the chair picks a person by name and site.
    _assert_no_site(chair, leaving_out="option")
    assert_accessible(chair)
    for phone in phones:
        expect(phone.locator("#live")).not_to_contain_text("Strudwick")
    assert_accessible(phones[1])

    # 6. A network action: no sites to tick, as every site gets its own copy.
    panel = chair.locator("#console-actions")
    expect(panel).to_contain_text("each site's risk staff get their own copy")
    expect(panel.get_by_label("All sites in the network")).to_have_count(0)
    panel.get_by_label("What will be done").fill(ACTION)
    panel.get_by_label("Owner", exact=True).select_option(
        label=f"{network.regional_chair.name} ({network.riverside.name})")
    panel.get_by_label("Due date").fill((date.today() + timedelta(days=30)).isoformat())
    panel.get_by_label("High").check()
    panel.get_by_role("button", name="Add the action").click()
    expect(panel.get_by_role("status")).to_contain_text(f"for {network.regional_chair.name}")
    expect(panel.get_by_role("listitem").filter(has_text="lung-window check")).to_contain_text("Case 1")
    network_action = db.session.scalar(select(Action).where(Action.meeting_id == meeting.id,
                                                            Action.network_action_id.is_(None)))
    sites = len(network_action.site_copies)
    assert network_action.per_site and sites == 3, "one copy for each of the three active sites"

    # 7. The chair ends the meeting and closes the register.
    chair.get_by_role("button", name="End the meeting").click()
    for phone in phones:
        expect(phone.get_by_role("heading", name="The meeting has ended")).to_be_visible(timeout=WITHIN_3_SECONDS)
    chair.get_by_role("button", name="Close the register").click()
    expect(chair.get_by_text("certificates sent")).to_be_visible()
    for phone in phones:
        expect(phone.get_by_role("link", name="Signed the register? Get your CPD certificate")).to_be_visible(
            timeout=WITHIN_3_SECONDS)
        _assert_no_site(phone)
        _no_sideways_scroll(phone)
    assert_accessible(phones[2])

    # 8. The minutes count the sites represented and never name them. The guest's "Farholm Teleradiology" is
    # a third organisation: the app counts the distinct workplaces on the register (minutes/content.py
    # _site_key), members by their home site and guests by what they typed, so Oakhurst, Riverside and
    # Farholm make 3. (Fenwick had nobody there.)
    chair.get_by_role("link", name="Write up the minutes").click()
    expect(chair.get_by_role("heading", level=1)).to_have_text(f"Minutes: {REGIONAL_TITLE}")
    expect(chair.locator("main")).to_contain_text("3 present (sites represented: 3)")
    _assert_no_site(chair)
    assert_accessible(chair)
    pdf = chair.request.get(f"/meetings/{meeting.id}/minutes.pdf")
    assert pdf.ok
    minutes = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "sites represented: 3" in minutes, minutes
    assert ACTION in minutes
    assert not SITE_NAME.findall(minutes) and not SITE_CODE.findall(minutes), minutes

    # 9. Oakhurst's risk staff find their site's copy in the action register and close it with evidence.
    risk = _desktop(browser, live_server)
    sign_in(risk, network.oakhurst_risk.email, PASSWORD)
    risk.get_by_role("link", name="Action register").click()
    expect(risk.get_by_role("heading", name="Action register")).to_be_visible()
    row = risk.locator("tr", has_text="lung-window check")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(network.oakhurst.name)
    row.get_by_role("link", name=re.compile(r"^A\d+$")).click()
    expect(risk.get_by_role("heading", level=1)).to_have_text(ACTION)
    expect(risk.locator("#action-detail")).to_contain_text(f"0 of {sites} sites done")
    risk.get_by_label("Done").check()
    risk.get_by_label("Note").fill(EVIDENCE)
    risk.get_by_role("button", name=re.compile(r"^Save")).click()
    expect(risk.get_by_role("status")).to_contain_text("is now done")
    expect(risk.locator("#action-detail")).to_contain_text(f"1 of {sites} sites done")
    # The note is scrubbed like every text of a regional meeting: "at Oakhurst" reads "at [SITE]", even on
    # Oakhurst's own copy, and the "Saved" message does not say so.
    expect(risk.get_by_role("table", name="History")).to_contain_text("Template changed at [SITE] and circulated")
    assert_accessible(risk)

    for context in {p.context for p in [chair, risk, *phones]}:
        context.close()
    for p in [chair, projector, risk, *phones]:
        assert not p.errors, f"{p.url}: {p.errors}"
