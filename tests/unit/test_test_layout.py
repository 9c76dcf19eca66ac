"""Test folders are not packages, so two test files of one name collide when pytest collects them together;
`make test` collects the folders in two runs, so the collision would only show in a plain `pytest`."""

from __future__ import annotations

from collections import Counter

from tests.support.paths import REPOSITORY


def test_every_test_file_name_is_used_once() -> None:
    names = Counter(p.name for p in (REPOSITORY / "tests").rglob("test_*.py"))
    assert {name: count for name, count in names.items() if count > 1} == {}


def test_make_test_runs_every_test_folder_once() -> None:
    makefile = (REPOSITORY / "Makefile").read_text()
    listed: list[str] = []
    for variable in ("TESTS_WITHOUT_CONTROL_PLANE", "TESTS_WITH_CONTROL_PLANE"):
        [line] = [ln for ln in makefile.splitlines() if ln.startswith(f"{variable} :=")]
        listed += line.split(":=", 1)[1].split()
    folders = {
        f"tests/{p.name}" for p in (REPOSITORY / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py"))
    }
    assert sorted(listed) == sorted(folders)
