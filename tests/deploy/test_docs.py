"""The user documentation: links that resolve, a contract page that names everything, a LICENSE."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from deploy_helpers import ROOT
from guardrail.config import INPUT_TOPICS, OUTPUT_TOPICS
from guardrail.core.reasons import REASON_CODES
from guardrail.metrics.metric_set import ERROR_KINDS

DOCS = [ROOT / "README.md", ROOT / "deploy" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CONTRACT = ROOT / "docs" / "contract.md"
# Folders that are not part of the repository's content (build output, caches, local state).
NOT_CONTENT = {".git", ".venv", "var", "build", ".cache", "__pycache__", ".mypy_cache"}
OUTSIDE = "../" + "shared"  # spelled in two parts so this file does not match itself

FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(path: Path) -> list[str]:
    """Every markdown link target of ``path``, outside code blocks and inline code."""
    text = INLINE_CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    return LINK.findall(text)


def slug(heading: str) -> str:
    """The anchor a markdown renderer (GitHub's rules) gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)}


def content_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if parts & NOT_CONTENT or any(p.endswith(".egg-info") for p in parts):
            continue
        if path.is_file() and path.suffix not in {".so", ".pyc", ".jar", ".png"}:
            found.append(path)
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_to_a_file_and_heading_in_the_repository(doc: Path) -> None:
    broken = []
    for target in links(doc):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert not broken, f"{doc.relative_to(ROOT)}: " + "; ".join(broken)


def test_no_file_points_outside_the_repository_to_the_shared_folder() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in content_files()
        if OUTSIDE in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert not offenders, offenders


def test_the_readme_links_the_contract_page() -> None:
    assert "(docs/contract.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_contract_page_names_every_topic_reason_code_and_dead_letter_kind() -> None:
    contract = CONTRACT.read_text(encoding="utf-8")
    names = [*INPUT_TOPICS.values(), *OUTPUT_TOPICS.values(), *REASON_CODES, *ERROR_KINDS]
    missing = [name for name in names if f"`{name}`" not in contract]
    assert not missing, f"docs/contract.md does not mention {missing}"


def test_the_license_is_the_full_apache_2_text_pyproject_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    license_field = project["license"]
    declared = license_field["text"] if isinstance(license_field, dict) else license_field
    assert declared == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    sections = re.findall(r"^   (\d+)\. [A-Z]", text, re.M)
    assert sections == [str(n) for n in range(1, 10)], sections
    assert "END OF TERMS AND CONDITIONS" in text
    assert text.rstrip().endswith("limitations under the License.")


@pytest.mark.parametrize("name", ["benchmarks.md", "reliability.md"])
def test_figures_pages_read_as_documentation_not_as_a_lab_notebook(name: str) -> None:
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    hashes = [
        word
        for word in re.findall(r"\b[0-9a-f]{7,40}\b", text)
        if re.search(r"\d", word) and re.search(r"[a-f]", word)
    ]
    assert not hashes, f"commit hashes in docs/{name}: {hashes}"
    history = re.findall(r"\b(?:issue|run) #?\d+\b", text, re.I)
    assert not history, f"issue or run numbers in docs/{name}: {history}"
