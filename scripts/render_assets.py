"""Render a PNG next to each demo SVG, at its own size (32 px per cell).

The server draws map thumbnails with Pillow, which can't read SVG: it uses these PNGs.
Run it after changing an SVG under src/metaverse/assets/static/ and commit the PNGs:

    .venv/bin/python scripts/render_assets.py [--check]

It drives Debian's Chromium (`scripts/chromium.sh` installs it) through Playwright, so the
PNGs look exactly like what the browser client draws. `--check` renders to memory and
fails if a committed PNG is missing or has another size.
"""

from __future__ import annotations

import argparse
import base64
import io
import re
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

from metaverse.assets.demo import STATIC_DIR

CHROMIUM = "/usr/bin/chromium"
FOLDERS = ("elements", "avatars")
SIZE = re.compile(r'<svg[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"')


def svg_size(svg: str) -> tuple[int, int]:
    match = SIZE.search(svg)
    if match is None:
        raise ValueError("the <svg> element needs integer width and height attributes")
    return int(match.group(1)), int(match.group(2))


def render(page: Page, path: Path) -> bytes:
    svg = path.read_text()
    width, height = svg_size(svg)
    data = base64.b64encode(svg.encode()).decode()
    page.set_viewport_size({"width": width, "height": height})
    page.set_content(
        '<html><body style="margin:0;background:transparent">'
        f'<img src="data:image/svg+xml;base64,{data}" width="{width}" height="{height}"'
        ' style="display:block"></body></html>'
    )
    page.wait_for_function("document.images[0].complete")
    png = page.screenshot(
        clip={"x": 0, "y": 0, "width": width, "height": height}, omit_background=True
    )
    with Image.open(io.BytesIO(png)) as image:
        if image.size != (width, height):
            raise RuntimeError(f"{path}: rendered {image.size}, expected {(width, height)}")
        out = io.BytesIO()
        image.convert("RGBA").save(out, "PNG", optimize=True)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, don't write")
    args = parser.parse_args()
    svgs = sorted(p for folder in FOLDERS for p in (STATIC_DIR / folder).glob("*.svg"))
    problems = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(device_scale_factor=1)
        for svg in svgs:
            png = render(page, svg)
            target = svg.with_suffix(".png")
            if not args.check:
                target.write_bytes(png)
                continue
            if not target.is_file():
                print(f"missing: {target}", file=sys.stderr)
                problems += 1
                continue
            with Image.open(target) as committed, Image.open(io.BytesIO(png)) as fresh:
                if committed.size != fresh.size:
                    print(f"wrong size: {target}", file=sys.stderr)
                    problems += 1
        browser.close()
    print(f"{len(svgs)} SVGs {'checked' if args.check else 'rendered'}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
