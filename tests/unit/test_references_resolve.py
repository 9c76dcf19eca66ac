"""Every reference to a file of this repository, in a comment, a docstring or a document, names a file that
exists: `cloudstack-contract.md §1.5` (and its section), Markdown links, and paths from the repository root.
Nothing points outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.paths import REPOSITORY

TOP = ("operator", "simulator", "tests", "docs", "charts", "crds", "scripts", "bench", "examples")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".lua", ".json", ".txt", ".sh", ".tpl"}
SKIP = {
    ".git",
    ".venv",
    ".tools",
    "__pycache__",
    "node_modules",
    ".mypy_cache",
    ".ruff_cache",
    "dist",
    "build",
}

SECTION = re.compile(r"([\w./-]+\.md) §(\d+(?:\.\d+)?)")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
ROOTED = re.compile(rf"(?<![\w./-])((?:{'|'.join(TOP)})/[\w./-]*\w\.(?:py|md|yaml|yml|lua|json|toml))\b")
# A path of the machine the project was built on, or a folder beside the repository: written in pieces so this
# guard does not name them itself.
OUTSIDE = re.compile("|".join(re.escape(part) for part in ("/" + "work/", "../" + "shared/")))
NOT_OURS = {
    "tests/x.py",  # a made-up path tests/chart/test_dockerfile.py feeds to .dockerignore
    "docs/operator-manual/health.md",  # a page of Argo CD's own documentation (docs/gitops.md)
}


def files() -> list[Path]:
    found = []
    for path in REPOSITORY.rglob("*"):
        parts = set(path.relative_to(REPOSITORY).parts)
        if parts & SKIP or any(p.endswith(".egg-info") for p in parts) or not path.is_file():
            continue
        if path.suffix in SUFFIXES or path.name in ("Makefile", "Dockerfile"):
            found.append(path)
    return found


def resolve(name: str, citing: Path) -> Path | None:
    for base in (citing.parent, REPOSITORY, REPOSITORY / "docs"):
        candidate = (base / name).resolve()
        if candidate.exists():
            return candidate
    return None


def problems() -> list[str]:
    found = []
    me = Path(__file__).resolve()
    for path in files():
        if path.resolve() == me:
            continue
        where = path.relative_to(REPOSITORY)
        text = path.read_text(errors="replace")
        for match in SECTION.finditer(text):
            target = resolve(match.group(1), path)
            if target is None:
                found.append(f"{where}: {match.group(0)}: no such file")
                continue
            number = match.group(2)
            heading = re.compile(rf"^#+ {re.escape(number)}[. ]", re.MULTILINE)
            if not heading.search(target.read_text()):
                found.append(f"{where}: {match.group(0)}: no section {number} in {target.name}")
        if path.suffix == ".md":
            for match in LINK.finditer(text):
                link = match.group(1)
                if "://" in link or link.startswith("mailto:"):
                    continue
                if resolve(link, path) is None:
                    found.append(f"{where}: link {link}: no such file")
        for match in ROOTED.finditer(text):
            if match.group(1) in NOT_OURS:
                continue
            if not (REPOSITORY / match.group(1)).exists():
                found.append(f"{where}: {match.group(1)}: no such file")
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{where}:{number}: points outside the repository: {line.strip()[:80]}")
    return found


def test_every_reference_to_a_repository_file_resolves() -> None:
    assert problems() == []
