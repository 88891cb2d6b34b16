"""The server → client frames are named once, in `protocol/frames.py`: the docs' table and
the browser's `protocol.js` list the same frames with the same capabilities, and the
server's code names frames only from the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from metaverse.protocol.frames import CAPABILITIES, SERVER_FRAMES

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL_MD = ROOT / "docs" / "protocol.md"
PROTOCOL_JS = ROOT / "src" / "metaverse" / "web" / "protocol.js"


def docs_table() -> dict[str, tuple[str, ...]]:
    """The "Server → client" table: each frame and the capabilities it needs."""
    text = PROTOCOL_MD.read_text()
    section = text[text.index("## Server → client") :]
    section = section[: section.index("\n## ", 3)]
    frames: dict[str, tuple[str, ...]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        frames[cells[0].strip("`")] = tuple(re.findall(r"`([a-z]+)`", cells[3]))
    return frames


def js_list(name: str) -> list[str]:
    text = PROTOCOL_JS.read_text()
    body = re.search(rf"export const {name} = Object\.freeze\(\[(.*?)\]\);", text, re.S)
    assert body is not None, f"{name} is not in protocol.js"
    return re.findall(r'"([a-z-]+)"', body.group(1))


def test_the_docs_table_lists_the_catalogue_with_its_capabilities() -> None:
    assert docs_table() == {name: frame.needs for name, frame in SERVER_FRAMES.items()}


def test_the_browser_knows_every_frame_and_capability_of_the_catalogue() -> None:
    assert sorted(js_list("SERVER_TYPES")) == sorted(SERVER_FRAMES)
    assert sorted(js_list("CAPABILITIES")) == sorted(CAPABILITIES)


def test_the_server_names_frames_only_from_the_catalogue() -> None:
    literal = re.compile(r"""\bencode\(\s*["']""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "src" / "metaverse").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if literal.search(line)
    ]
    assert offenders == []
