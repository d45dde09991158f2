"""The followers' fast path (meetings.live.followers): answers from one read, kept briefly per worker."""
from __future__ import annotations

from sqlalchemy import event

from meetings.live.followers import FollowerPolls, follower_engine
from meetings.models import LiveState, Role
from tests.factories import make_meeting, make_user


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def fallback(environ, start_response):
    start_response("418 I'm a teapot", [])
    return [b"flask"]


def call(middleware, path, query=""):
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(middleware({"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query}, start_response))
    return seen["status"], seen["headers"], body


def test_a_worker_keeps_the_version_briefly_then_reads_the_move(app, db):
    meeting = make_meeting(chair=make_user(Role.CHAIR))
    state = LiveState(meeting=meeting, join_code="abcd2345", version=7, audience_html="<div id='live'>seven</div>")
    db.session.add(state)
    db.session.commit()
    engine, clock = follower_engine(app.config["SQLALCHEMY_DATABASE_URI"]), Clock()
    reads = []
    event.listen(engine, "before_cursor_execute", lambda *args: reads.append(1))
    polls = FollowerPolls(fallback, engine, cache_seconds=0.5, clock=clock)

    assert call(polls, "/j/abcd2345/live", "v=7")[0] == "204 No Content"
    status, headers, body = call(polls, "/j/abcd2345/live", "v=6")
    assert status == "200 OK" and body == b"<div id='live'>seven</div>"
    assert headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert len(reads) == 1  # the second poll was answered from the worker's copy

    state.version, state.audience_html = 8, "<div id='live'>eight</div>"
    db.session.commit()
    assert call(polls, "/j/abcd2345/live", "v=7")[0] == "204 No Content"  # still within half a second
    # A phone that another worker already gave version 8 is never sent back to 7 from this worker's copy.
    assert call(polls, "/j/abcd2345/live", "v=8")[0] == "204 No Content"
    assert len(reads) == 2
    clock.now += 0.6
    assert call(polls, "/j/abcd2345/live", "v=7")[2] == b"<div id='live'>eight</div>"
    assert len(reads) == 3
    engine.dispose()


def test_anything_else_passes_to_flask(app, db):
    engine = follower_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    polls = FollowerPolls(fallback, engine)
    assert call(polls, "/j/nosuchcode/live", "v=1")[0].startswith("418")  # unknown code
    assert call(polls, "/j/a%27--/live", "v=1")[0].startswith("418")  # not a code at all
    assert call(polls, "/j/abcd2345", "")[0].startswith("418")  # the page, not the poll
    broken = FollowerPolls(fallback, follower_engine("sqlite:////nonexistent/dir/x.db"))
    assert call(broken, "/j/abcd2345/live", "v=1")[0].startswith("418")  # a database that does not answer
    engine.dispose()
