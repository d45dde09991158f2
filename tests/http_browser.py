"""A browser's requests to a real server on loopback, for the tests that run gunicorn: http.client, with the
cookies a browser keeps and no redirects followed, so each answer is seen as sent."""
from __future__ import annotations

import http.client
import re
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def csrf_token(self) -> str:
        found = re.search(r'"X-CSRFToken": "([^"]+)"|name="csrf_token"[^>]*value="([^"]+)"', self.text)
        assert found, f"no CSRF token on the page ({self.status}): {self.text[:500]}"
        return found.group(1) or found.group(2)


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type; `files` maps names to (filename, bytes, type)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
              f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n"
              for name, (filename, content, content_type) in files.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def send(port: int, cookies: dict[str, str], method: str, path: str, fields: dict | None = None,
         files: dict | None = None, headers: dict | None = None, timeout: float = 30.0) -> Reply:
    """One request with `cookies`, which are updated from the answer as a browser would."""
    headers, body = dict(headers or {}), None
    if files:
        body, headers["Content-Type"] = multipart(fields or {}, files)
    elif fields is not None:
        body = urlencode(fields, doseq=True).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        reply = Reply(response.status, response.headers, response.read())
    finally:
        connection.close()
    for header in reply.headers.get_all("Set-Cookie") or ():
        for name, morsel in SimpleCookie(header).items():
            if morsel.value and morsel["max-age"] != "0":
                cookies[name] = morsel.value
            else:
                cookies.pop(name, None)
    return reply
