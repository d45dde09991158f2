"""Answering followers' polls before Flask does any work.

Thousands of phones ask every two seconds whether the room has moved. The answer is the same for all of
them: 204 if their version is current, else the audience fragment stored with the new version. Both are
given here from one indexed read on a connection of its own, with no request context, session, user,
hooks or template. Anything else (an unknown code, a state with no fragment yet, a database that does not
answer) passes to the Flask view, which answers it in full.

Each worker may keep a meeting's version and fragment for a fraction of a second
(`LIVE_VERSION_CACHE_SECONDS`), so a room of thousands costs the database a few reads a second rather than
one per phone per poll. A phone then sees a move at most that much later; the state still lives only in the
database, so any worker on any host answers alike.
"""
from __future__ import annotations

import time
from urllib.parse import parse_qs

from sqlalchemy import bindparam, create_engine, select
from sqlalchemy.engine import Engine

from meetings.web import whole_number
from meetings.models import LiveState
from meetings.security import CONTENT_SECURITY_POLICY

ROOM = select(LiveState.version, LiveState.audience_html).where(LiveState.join_code == bindparam("code"))
PREFIX, SUFFIX = "/j/", "/live"
# Neither answer may be kept by anything between here and the phone; the fragment gets the page headers.
UNCHANGED = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), ("Vary", "HX-Request")]
CHANGED = UNCHANGED + [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
                       ("X-Frame-Options", "DENY"), ("Referrer-Policy", "same-origin")]


def follower_engine(url: str) -> Engine:
    """An engine for these reads alone: autocommit, so returning a connection to the pool costs no rollback,
    and no pre-ping, since a failed read simply falls through to Flask."""
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False)


class FollowerPolls:
    """WSGI middleware for `GET /j/<code>/live?v=<version held>`."""

    def __init__(self, app, engine: Engine, cache_seconds: float = 0.0, clock=time.monotonic):
        self.app, self.engine = app, engine
        self.cache_seconds, self.clock = cache_seconds, clock
        # join code -> (version, fragment, when to read again); only codes that exist, so it cannot be flooded.
        self.cached: dict[str, tuple[int, str, float]] = {}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "GET" and path.startswith(PREFIX) and path.endswith(SUFFIX):
            held = parse_qs(environ.get("QUERY_STRING", "")).get("v", [""])[0]
            held = int(held) if whole_number(held) else 0
            room = self._room(path[len(PREFIX):-len(SUFFIX)], held)
            if room is not None:
                version, fragment = room
                if held == version:
                    start_response("204 No Content", list(UNCHANGED))
                    return []
                body = fragment.encode()
                start_response("200 OK", CHANGED + [("Content-Length", str(len(body)))])
                return [body]
        return self.app(environ, start_response)

    def _room(self, code: str, held: int) -> tuple[int, str] | None:
        """The room's version and fragment, from this worker's copy while it is fresh, unless the phone
        already holds a newer version (another worker served it), which must never be taken back."""
        if not code.isalnum():
            return None
        now = self.clock()
        cached = self.cached.get(code)
        if cached and now < cached[2] and held <= cached[0]:
            return cached[0], cached[1]
        try:
            with self.engine.connect() as conn:
                row = conn.execute(ROOM, {"code": code}).first()
        except Exception:  # noqa: BLE001 - the Flask view answers, and reports, whatever went wrong
            return None
        if row is None or not row.audience_html:
            return None
        if self.cache_seconds > 0:
            self.cached[code] = (row.version, row.audience_html, now + self.cache_seconds)
        return row.version, row.audience_html
