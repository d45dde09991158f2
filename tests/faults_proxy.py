"""A TCP proxy between the app and PostgreSQL that a test can break on purpose (tests/test_faults.py).

The shared PostgreSQL server cannot be restarted by a test, so the app is pointed at this proxy instead, and
"PostgreSQL restarts" by the proxy closing its listening socket and every connection through it (the app
then sees what it sees when the server goes away: connections reset, new ones refused), and coming back by
the proxy listening again on the same port.

It can also break at a chosen moment: when the app sends bytes containing a pattern (COMMIT, say), the proxy
either drops every connection and goes down before forwarding them (`cut_when`: the server went away just as
the transaction was to be committed), or holds them until the test decides (`hold_when`: the app's process is
killed meanwhile, say).

One thread serves every socket through a selector; the test's calls are run by that thread and waited for.
"""
from __future__ import annotations

import queue
import selectors
import socket
import struct
import threading
from dataclasses import dataclass

# What psycopg sends to commit: the query "COMMIT" as a C string in a Query message.
COMMIT = b"COMMIT\x00"
CHUNK = 65536


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Held:
    """Bytes from the app held back by `hold_when`, and the app's end of the connection that sent them."""

    client: socket.socket
    data: bytes
    peer_port: int  # the app's local port: which process sent them (see tests/test_faults.py)


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client, self.upstream = client, upstream
        self.tail = b""  # the last few bytes from the client, so a pattern split across reads is still seen
        self.to_upstream = bytearray()
        self.to_client = bytearray()
        self.peer_port = client.getpeername()[1]


class FaultyProxy:
    def __init__(self, upstream: tuple[str, int], port: int | None = None):
        self.upstream = upstream
        self.port = port or free_port()
        self.connections_made = 0
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._pairs: dict[socket.socket, _Pair] = {}
        self._commands: queue.Queue = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._armed: tuple[bytes, str] | None = None  # (pattern, "cut" | "hold")
        self.tripped = threading.Event()
        self.held: Held | None = None
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name=f"faulty-proxy-{self.port}", daemon=True)
        self._thread.start()
        self.up()

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    # --- what the test calls: each runs in the proxy's thread, and returns once done -----------------

    def up(self) -> None:
        """Listen (again) on the same port."""
        self._run(self._up)

    def down(self) -> None:
        """PostgreSQL goes away: stop listening, and reset every open connection."""
        self._run(self._down)

    def drop_connections(self) -> None:
        """Reset every open connection, but keep listening (a server restarted in a blink)."""
        self._run(self._drop_all)

    def cut_when(self, pattern: bytes = COMMIT) -> None:
        """When the app next sends `pattern`, go down before forwarding it."""
        self.tripped.clear()
        self._run(lambda: setattr(self, "_armed", (pattern, "cut")))

    def hold_when(self, pattern: bytes = COMMIT) -> None:
        """When the app next sends `pattern`, hold those bytes (and that connection) until `release`."""
        self.tripped.clear()
        self._run(lambda: setattr(self, "_armed", (pattern, "hold")))

    def disarm(self) -> None:
        self._run(lambda: setattr(self, "_armed", None))

    def release(self, forward: bool) -> None:
        """Forward the held bytes, or drop them and close that connection (the server rolls back)."""
        self._run(lambda: self._release(forward))

    def close(self) -> None:
        self._run(self._down)
        self._stopping = True
        self._wake()
        self._thread.join(timeout=10)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    # --- the proxy's thread -------------------------------------------------------------------------

    def _run(self, command) -> None:
        done = threading.Event()
        failure: list[BaseException] = []

        def call():
            try:
                command()
            except BaseException as error:  # noqa: BLE001 - handed back to the caller
                failure.append(error)
            finally:
                done.set()

        self._commands.put(call)
        self._wake()
        if not done.wait(timeout=30):
            raise RuntimeError("the proxy's thread did not answer")
        if failure:
            raise failure[0]

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _up(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.setblocking(False)
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, "accept")

    def _down(self) -> None:
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
        self._drop_all()

    def _drop_all(self) -> None:
        for pair in {id(p): p for p in self._pairs.values()}.values():
            self._close_pair(pair)
        if self.held is not None:
            _reset(self.held.client)
            self.held = None

    def _release(self, forward: bool) -> None:
        held, self.held = self.held, None
        if held is None:
            return
        pair = self._pairs.get(held.client)
        if pair is None:
            _reset(held.client)
            return
        if forward:
            pair.to_upstream += held.data
            self._update(pair)
            self._watch(pair)
        else:
            self._close_pair(pair)

    def _serve(self) -> None:
        while not self._stopping:
            for key, events in self._selector.select(timeout=1):
                if key.data == "wake":
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                    while not self._commands.empty():
                        self._commands.get_nowait()()
                elif key.data == "accept":
                    self._accept()
                else:
                    self._transfer(key.fileobj, events)

    def _accept(self) -> None:
        if self._listener is None:
            return
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            _reset(client)
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pair = _Pair(client, upstream)
        self._pairs[client] = self._pairs[upstream] = pair
        self.connections_made += 1
        self._watch(pair)

    def _watch(self, pair: _Pair) -> None:
        for sock in (pair.client, pair.upstream):
            self._update(pair, sock)

    def _update(self, pair: _Pair, sock: socket.socket | None = None) -> None:
        for one in ((sock,) if sock is not None else (pair.client, pair.upstream)):
            if one not in self._pairs:
                continue
            pending = pair.to_client if one is pair.client else pair.to_upstream
            events = selectors.EVENT_WRITE if pending else 0
            if not (self.held is not None and one is self.held.client):
                events |= selectors.EVENT_READ
            try:
                if events:
                    try:
                        self._selector.modify(one, events, pair)
                    except KeyError:
                        self._selector.register(one, events, pair)
                else:
                    self._selector.unregister(one)
            except (KeyError, ValueError, OSError):
                pass

    def _transfer(self, sock: socket.socket, events: int) -> None:
        pair = self._pairs.get(sock)
        if pair is None:
            return
        from_client = sock is pair.client
        try:
            if events & selectors.EVENT_WRITE:
                pending = pair.to_client if from_client else pair.to_upstream
                sent = sock.send(pending)
                del pending[:sent]
            if events & selectors.EVENT_READ:
                data = sock.recv(CHUNK)
                if not data:
                    self._close_pair(pair)
                    return
                if from_client:
                    if self._trips(pair, data):
                        return
                    pair.to_upstream += data
                else:
                    pair.to_client += data
        except BlockingIOError:
            pass
        except OSError:
            self._close_pair(pair)
            return
        self._update(pair)

    def _trips(self, pair: _Pair, data: bytes) -> bool:
        """Whether these bytes from the app set off the armed fault (which then has been done)."""
        seen, start = pair.tail + data, len(pair.tail)
        pair.tail = seen[-32:]
        if self._armed is None:
            return False
        pattern = self._armed[0]
        # Only a pattern that ends in these bytes: one sent before was forwarded already.
        if seen.find(pattern, max(0, start - len(pattern) + 1)) < 0:
            return False
        mode = self._armed[1]
        self._armed = None
        if mode == "cut":
            self._down()
        else:
            self.held = Held(pair.client, data, pair.peer_port)
            self._update(pair)
        self.tripped.set()
        return True

    def _close_pair(self, pair: _Pair) -> None:
        for sock in (pair.client, pair.upstream):
            self._pairs.pop(sock, None)
            try:
                self._selector.unregister(sock)
            except (KeyError, ValueError, OSError):
                pass
            _reset(sock)


def _reset(sock: socket.socket) -> None:
    """Close at once, as a server that went away does (RST, not an orderly goodbye)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
