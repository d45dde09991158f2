"""The only place Lightbox renders PDF: WeasyPrint over templates in `pdf/`, fetching nothing from outside."""
from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import current_app, render_template
from weasyprint import HTML
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


def render_pdf(template: str, title: str, **context) -> bytes:
    """Render `pdf/{template}` to tagged PDF (PDF/UA-1) with its title and language set."""
    html = render_template(f"pdf/{template}", title=title, **context)
    fetcher = OwnFilesFetcher([PDF_TEMPLATES, Path(current_app.static_folder)])
    document = HTML(string=html, base_url=PDF_TEMPLATES.as_uri() + "/", url_fetcher=fetcher)
    return document.write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
