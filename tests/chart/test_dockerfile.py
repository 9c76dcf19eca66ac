"""The Dockerfile's rules, read from its instructions (there is no Docker engine to build it here)."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from tests.chart.helm_runner import CHART
from tests.support.paths import REPOSITORY

DOCKERFILE = REPOSITORY / "Dockerfile"
DOCKERIGNORE = REPOSITORY / ".dockerignore"
BUILD_TOOLS = re.compile(
    r"\b(gcc|g\+\+|make|build-essential|python3?-dev|libc6?-dev|apt-get|apt|apk|pip wheel)\b"
)
BASE_IMAGE = re.compile(r"python:3\.11(\.\d+)?-slim(-\w+)?(@sha256:[0-9a-f]{64})?")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages and keyword == "ARG":
            key, _, default = rest.partition("=")
            args[key] = default
        elif stages:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


ARGS, STAGES = parse(DOCKERFILE.read_text())
FINAL = STAGES[-1]


def test_multi_stage_on_slim_python_3_11() -> None:
    assert len(STAGES) >= 2
    for stage in STAGES:
        assert BASE_IMAGE.fullmatch(stage.base), stage.base
    assert STAGES[0].name == "builder"


def test_the_wheel_is_built_in_the_builder() -> None:
    builder_runs = " ".join(STAGES[0].all("RUN"))
    assert "pip wheel" in builder_runs
    assert "--no-index" in builder_runs, "the install uses only the wheels just built"


def test_final_stage_has_no_build_tools() -> None:
    for run in FINAL.all("RUN"):
        assert not BUILD_TOOLS.search(run), f"build tool in the final stage: {run}"
    copies = FINAL.all("COPY")
    assert all(c.startswith("--from=builder") for c in copies), "the final stage copies only build results"
    assert not FINAL.all("ADD")


def test_runs_as_a_numeric_non_root_user() -> None:
    users = FINAL.all("USER")
    assert users, "no USER in the final stage"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) > 0
    assert not group or (group.isdigit() and int(group) > 0)
    chart_values = (CHART / "values.yaml").read_text()
    assert f"runAsUser: {user}" in chart_values, "the chart's runAsUser matches the image's user"


def test_entrypoint_runs_the_operator() -> None:
    entrypoints = FINAL.all("ENTRYPOINT")
    assert len(entrypoints) == 1
    assert json.loads(entrypoints[0]) == ["ssvm-operator", "run"]
    assert not FINAL.all("CMD"), "arguments come from the chart's args"


def test_writes_nothing_outside_tmp() -> None:
    env = " ".join(FINAL.all("ENV"))
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "TMPDIR=/tmp"):
        assert setting in env
    assert not FINAL.all("VOLUME"), "the chart mounts the only writable place, /tmp"
    assert FINAL.all("WORKDIR") in ([], ["/tmp"])


def test_build_context_holds_what_the_dockerfile_copies() -> None:
    patterns = dockerignore_patterns()
    for stage in STAGES:
        for copy in stage.all("COPY"):
            words = shlex.split(copy)
            if words[0].startswith("--from="):
                continue
            for source in words[:-1]:
                assert (REPOSITORY / source).exists(), f"COPY {source}: no such file"
                assert not ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"


def test_dockerignore_keeps_secrets_and_venvs_out() -> None:
    patterns = dockerignore_patterns()
    for path in (".venv/bin/python", ".git/config", ".tools/bin/helm", "examples/secret.yaml", "tests/x.py"):
        assert ignored(path, patterns), f"{path} would be sent to the Docker daemon"


def dockerignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore excludes `path` (last matching pattern wins; `!` re-includes)."""
    excluded = False
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        body = body.rstrip("/")
        if body.startswith("**/"):
            hit = any(fnmatch.fnmatch(part, body[3:]) for part in parts)
        else:
            hit = any(fnmatch.fnmatch(prefix, body) for prefix in prefixes)
        if hit:
            excluded = not negate
    return excluded
