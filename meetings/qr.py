"""QR codes for the room's short links, drawn on the server as inline SVG (no image request, no script)."""
from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(url: str, label: str) -> Markup:
    """A QR code for `url`, black on white so it scans on a dark page; `label` is its accessible name."""
    svg = segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff", svgclass="lb-qr",
                                                omitsize=True, title=label)
    return Markup(svg.replace("<svg ", '<svg role="img" focusable="false" ', 1))


def qr_png_data_uri(url: str) -> str:
    """The same QR code as a PNG data URI, for PDFs: WeasyPrint places an image in a fraction of the time it
    takes to draw an SVG's hundreds of paths, which counts when 150 certificates are made at once."""
    return segno.make(url, error="m").png_data_uri(scale=4, border=2)
