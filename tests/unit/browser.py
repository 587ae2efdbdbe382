"""Render a page in real headless Chromium (the Debian package): DOM after scripts ran,
console messages, a screenshot; and read the page's tables back as text."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    # the page must need no network: every host name fails to resolve
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=10000",
    "--window-size=1280,900",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, (
        "Chromium is missing: apt-get install -y chromium (scripts/install-system-deps.sh)"
    )
    return found


@dataclass
class Rendered:
    dom: str
    console: list[str]  # every console message and uncaught error the page produced
    screenshot: Path


def _run(page: Path, profile: Path, extra: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def render(page: Path, workdir: Path) -> Rendered:
    shot = workdir / "screenshot.png"
    dumped = _run(page, workdir / "profile-dom", ["--dump-dom"])
    shown = _run(page, workdir / "profile-shot", [f"--screenshot={shot}"])
    console = [
        line
        for out in (dumped.stderr, shown.stderr)
        for line in out.splitlines()
        if ":CONSOLE" in line
    ]
    return Rendered(dumped.stdout, console, shot)


def coloured_pixels(png: Path, colour: tuple[int, int, int], tolerance: int = 24) -> int:
    """Pixels within ``tolerance`` of ``colour`` (per channel)."""
    data = Image.open(png).convert("RGB").tobytes()
    r0, g0, b0 = colour
    return sum(
        1
        for i in range(0, len(data), 3)
        if abs(data[i] - r0) <= tolerance
        and abs(data[i + 1] - g0) <= tolerance
        and abs(data[i + 2] - b0) <= tolerance
    )


def non_white_share(png: Path) -> float:
    histogram = Image.open(png).convert("L").histogram()
    return sum(histogram[:245]) / sum(histogram)


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(dom: str) -> dict[str, list[list[str]]]:
    """Every table of the page by id: rows of cell texts (header row first)."""
    parser = _Tables()
    parser.feed(dom)
    return parser.tables


def number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))
