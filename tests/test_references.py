"""Citations point at what a reader can open: docs/references.md (with an existing anchor) or a
paper, never the background notes outside the repository (bitmod.md, flightllm.md, ...)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "docs" / "references.md"
SKIP_DIRS = {".git", ".venv", "__pycache__", "build", "dist", ".pytest_cache", ".hypothesis"}
TEXT = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".ini", ".v", ".tcl", ".sh", ""}
# A background note by file name, unless it is the repository's own docs/rtl/bitmod.md.
OUTSIDE = re.compile(r"(?<![\w/.-])(?<!rtl/)(bitmod|flightllm|toolchain|peers)\.md\b"
                     r"|shared/reference")
CITED = re.compile(r"references\.md#([\w.-]+?)(?=[^\w.-]|\.\s|\.$|$)")


def _text_files():
    for path in ROOT.rglob("*"):
        if SKIP_DIRS.intersection(path.relative_to(ROOT).parts) or not path.is_file():
            continue
        if path.suffix in TEXT and path.stat().st_size < 2_000_000:
            try:
                yield path, path.read_text()
            except UnicodeDecodeError:
                continue


def test_no_citation_of_files_outside_the_repository():
    bad = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
           for p, text in _text_files() if p != Path(__file__)
           for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert not bad, "cite docs/references.md#<anchor> or the paper instead:\n" + "\n".join(bad)


def test_every_cited_anchor_exists():
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', REFERENCES.read_text()))
    cited = {(p.relative_to(ROOT), a) for p, text in _text_files() for a in CITED.findall(text)}
    assert len(cited) > 50                       # the tree does cite it
    missing = sorted(f"{p}: #{a}" for p, a in cited if a not in anchors)
    assert not missing, "\n".join(missing)


def test_the_checks_see_an_old_citation():
    assert OUTSIDE.search("see bitmod.md §2.4") and OUTSIDE.search("flightllm.md fact 11")
    assert not OUTSIDE.search("docs/rtl/bitmod.md") and not OUTSIDE.search("(rtl/bitmod.md)")
    assert CITED.findall("(docs/references.md#bitmod-2.4).") == ["bitmod-2.4"]
