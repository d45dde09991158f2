"""Copy the pinned front-end packages from node_modules into static/vendor.

Rewrites the NHS.UK frontend stylesheet so it loads nothing from outside: image URLs point at the
vendored copies, and the web-font rules (which fetch from a CDN) are dropped for the system font.
"""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "static" / "vendor"


def main() -> int:
    nhsuk = MODULES / "nhsuk-frontend" / "dist" / "nhsuk"
    htmx = MODULES / "htmx.org" / "dist" / "htmx.min.js"
    sortable = MODULES / "sortablejs" / "Sortable.min.js"
    missing = [str(p) for p in (nhsuk, htmx, sortable) if not p.exists()]
    if missing:
        print("Front-end packages missing (run `npm ci`):", ", ".join(missing), file=sys.stderr)
        return 1
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    (VENDOR / "htmx").mkdir(parents=True)
    shutil.copy2(htmx, VENDOR / "htmx" / "htmx.min.js")
    (VENDOR / "sortablejs").mkdir()
    shutil.copy2(sortable, VENDOR / "sortablejs" / "Sortable.min.js")

    target = VENDOR / "nhsuk-frontend"
    shutil.copytree(nhsuk / "assets", target / "assets")
    shutil.copy2(nhsuk / "nhsuk-frontend.min.js", target / "nhsuk-frontend.min.js")
    css = (nhsuk / "nhsuk-frontend.min.css").read_text()
    css = re.sub(r"@font-face\{[^}]*\}", "", css)
    css = css.replace("url(/assets/", "url(assets/")
    css = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)
    if "https://" in css:
        print("NHS.UK frontend stylesheet still refers to an outside address", file=sys.stderr)
        return 1
    (target / "nhsuk-frontend.min.css").write_text(css)
    js = (target / "nhsuk-frontend.min.js").read_text()
    (target / "nhsuk-frontend.min.js").write_text(re.sub(r"//# sourceMappingURL=\S+", "", js))
    print(f"Vendored htmx, SortableJS and NHS.UK frontend into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
