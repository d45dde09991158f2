"""Reading .ics files back twice: with `icalendar`, and with ical.js (Thunderbird's parser, under Node)."""
from __future__ import annotations

import json
import subprocess
from email.message import Message
from pathlib import Path

from icalendar import Calendar

PARSER = Path(__file__).with_name("parse_ics.mjs")
ROOT = Path(__file__).resolve().parents[2]


def with_icaljs(ics: bytes) -> dict:
    """What ical.js makes of the file: events and to-dos with times converted through its own VTIMEZONE."""
    done = subprocess.run(["node", str(PARSER)], input=ics, capture_output=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def read_both(ics: bytes) -> tuple[Calendar, dict]:
    return Calendar.from_ical(ics), with_icaljs(ics)


def calendar_parts(message: Message) -> tuple[Message, Message]:
    """An invitation email's inline `text/calendar` part and its .ics attachment."""
    inline = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    attached = [part for part in message.walk() if part.get_filename() == "invite.ics"]
    assert len(inline) == 1 and len(attached) == 1, [part.get_content_type() for part in message.walk()]
    return inline[0], attached[0]


def invite_of(message: Message) -> bytes:
    """The .ics an invitation email carries, after checking both copies are the same invite."""
    inline, attached = calendar_parts(message)
    body = attached.get_payload(decode=True)
    assert inline.get_payload(decode=True).replace(b"\r\n", b"\n") == body.replace(b"\r\n", b"\n")
    return body


def feed_path(client) -> str:
    """The signed-in person's feed link, as the calendar page shows it, without its scheme and host."""
    page = client.get("/calendar").get_data(as_text=True)
    assert 'href="webcal://' in page
    link = page.split('id="feed-link" type="text" readonly value="', 1)[1].split('"', 1)[0]
    return "/" + link.split("://", 1)[1].split("/", 1)[1]
