"""No operator module grows past about 400 lines: a module that does is holding two ideas."""

from __future__ import annotations

from tests.support.paths import REPOSITORY

LIMIT = 420


def test_no_operator_module_is_over_the_limit() -> None:
    package = REPOSITORY / "operator" / "ssvm_operator"
    sizes = {str(p.relative_to(package)): len(p.read_text().splitlines()) for p in package.rglob("*.py")}
    assert {name: size for name, size in sizes.items() if size > LIMIT} == {}
