"""The only place Lightbox renders PDF: WeasyPrint over templates in `pdf/`, fetching nothing from outside."""
from __future__ import annotations

import gc
import mimetypes
import threading
from pathlib import Path

from flask import current_app, render_template
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

PDF_TEMPLATES = Path(__file__).resolve().parent.parent / "pdf"


class OwnFilesFetcher(URLFetcher):
    """Serves stylesheets and images from `pdf/` and `static/`, and in-memory `data:` images; refuses the rest.

    A URL in user-supplied text must never make the PDF renderer reach the network or the file system.
    """

    def __init__(self, roots: list[Path]):
        super().__init__(allowed_protocols={"data", "file"})
        self.roots = [root.resolve() for root in roots]

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if not url.startswith("file://"):
            raise ValueError(f"PDF may not fetch {url}")
        path = Path(url[len("file://"):].split("?")[0]).resolve()
        if not any(path.is_relative_to(root) for root in self.roots) or not path.is_file():
            raise ValueError(f"PDF may not fetch {url}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})


_per_thread = threading.local()


def _print_stylesheet() -> CSS:
    """`pdf/print.css`, parsed once per thread: a batch of certificates would otherwise parse it again for
    every one. Per thread, as the request threads and the thread that emails certificates share nothing.
    (Not its FontConfiguration: one kept until the interpreter exits crashes it, in fontconfig's teardown;
    print.css has no @font-face for one to serve anyway.)"""
    if not hasattr(_per_thread, "stylesheet"):
        _per_thread.stylesheet = CSS(filename=str(PDF_TEMPLATES / "print.css"))
    return _per_thread.stylesheet


def render_pdf(template: str, title: str, **context) -> bytes:
    """Render `pdf/{template}` to tagged PDF (PDF/UA-1) with its title and language set."""
    html = render_template(f"pdf/{template}", title=title, **context)
    fetcher = OwnFilesFetcher([PDF_TEMPLATES, Path(current_app.static_folder)])
    document = HTML(string=html, base_url=PDF_TEMPLATES.as_uri() + "/", url_fetcher=fetcher)
    # Layout makes millions of short-lived objects, and the cycle collector walking them again and again
    # cost 5 to 10% of a long document. It is paused for the render, and only by a render that found it on,
    # so renders overlapping in other threads still leave it on when the last one ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return document.write_pdf(stylesheets=[_print_stylesheet()], pdf_variant="pdf/ua-1", pdf_tags=True)
    finally:
        if collecting:
            gc.enable()
