"""The house rules of the architecture, checked: observe (cloud) -> plan -> act, kopf only in kube."""

from __future__ import annotations

import ast

import pytest

from tests.support.paths import REPOSITORY

PACKAGE = REPOSITORY / "operator" / "ssvm_operator"
IO_MODULES = {
    "kopf",
    "cs",
    "aiohttp",
    "kubernetes",
    "requests",
    "asyncio",
    "socket",
    "time",
    "random",
    "structlog",
}


def imports_of(folder: str) -> dict[str, set[str]]:
    found = {}
    for path in sorted((PACKAGE / folder).glob("*.py")) if folder else sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(PACKAGE))] = names
    return found


def test_the_planner_does_no_io() -> None:
    for module, names in imports_of("plan").items():
        roots = {name.split(".")[0] for name in names}
        assert not roots & IO_MODULES, f"plan/{module} imports {roots & IO_MODULES}"
        assert not any(
            n.startswith(("ssvm_operator.cloud", "ssvm_operator.kube", "ssvm_operator.act")) for n in names
        )


@pytest.mark.parametrize(("library", "home"), [("kopf", "kube/"), ("cs", "cloud/")])
def test_each_library_is_imported_in_one_layer_only(library: str, home: str) -> None:
    offenders = [
        module
        for module, names in imports_of("").items()
        if any(n == library or n.startswith(library + ".") for n in names) and not module.startswith(home)
    ]
    assert offenders == []


def test_lower_layers_never_import_higher_ones() -> None:
    order = ["model", "plan", "cloud", "act", "kube"]
    for rank, layer in enumerate(order):
        higher = tuple(
            f"ssvm_operator.{h}" for h in order[rank + 1 :] if not (layer == "cloud" and h == "plan")
        )
        for module, names in imports_of(layer).items():
            assert not any(n.startswith(higher) for n in names), f"{layer}/{module} imports a higher layer"
