"""QR codes for the room's short links, drawn on the server as inline SVG (no image request, no script)."""
from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(url: str, label: str) -> Markup:
    """A QR code for `url`, black on white so it scans on a dark page; `label` is its accessible name."""
    svg = segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff", svgclass="lb-qr",
                                                omitsize=True, title=label)
    return Markup(svg.replace("<svg ", '<svg role="img" focusable="false" ', 1))
