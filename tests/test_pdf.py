"""meetings/pdf.py: tagged PDF with title, language and page numbers, and a fetcher that reaches nothing outside."""
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from meetings.pdf import PDF_TEMPLATES, OwnFilesFetcher, render_pdf


def test_rendered_pdf_is_tagged_titled_and_readable(app):
    with app.test_request_context():
        data = render_pdf("base.html", title="Minutes of a test meeting")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Minutes of a test meeting"
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB" and "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    text = reader.pages[0].extract_text()
    assert "Minutes of a test meeting" in text and "Page 1 of 1" in text
    assert "contains no patient identifiers" in text


def test_fetcher_serves_only_our_own_files(app, tmp_path):
    fetcher = OwnFilesFetcher([PDF_TEMPLATES, Path(app.static_folder)])
    assert fetcher.fetch((PDF_TEMPLATES / "print.css").as_uri()).read().startswith(b"/*")
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the PDF")
    for url in (outside.as_uri(), (PDF_TEMPLATES / ".." / "app.py").as_uri(), "http://127.0.0.1/x.png",
                "https://example.org/x.css"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
