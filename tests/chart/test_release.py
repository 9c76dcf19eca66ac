"""The release path: the workflow publishes what the chart installs (multi-arch, SBOM, signed image; signed
OCI chart), and `make image` uses whichever container engine works, or says that none does."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import yaml

from tests.chart.helm_runner import CHART

REPOSITORY = CHART.parent.parent
WORKFLOW = REPOSITORY / ".github" / "workflows" / "release.yml"


def steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    [job] = workflow["jobs"].values()
    found: list[dict[str, Any]] = job["steps"]
    return found


def step(name: str) -> dict[str, Any]:
    return next(s for s in steps() if s.get("name") == name)


def test_the_image_is_multi_arch_with_sbom_and_provenance_and_signed_by_digest() -> None:
    build = step("Build and push the image (amd64, arm64) with SBOM and provenance")["with"]
    assert set(build["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["sbom"] is True and build["provenance"] == "mode=max" and build["push"] is True
    assert build["context"] == "dist/image-context"
    assert "@${{ steps.image.outputs.digest }}" in step("Sign the image")["run"]


def test_the_chart_is_pushed_as_oci_signed_and_points_at_the_published_image() -> None:
    script = step("Package and push the chart")["run"]
    assert "make chart" in script and 'helm push "dist/ssvm-operator-${VERSION}.tgz" "${CHARTS}"' in script
    assert "cosign sign" in script
    # The sed lines must match what values.yaml and Chart.yaml hold, or the chart would ship the default.
    values = (CHART / "values.yaml").read_text()
    assert re.search(r"^  repository: ssvm-operator$", values, re.MULTILINE)
    version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert f"image: ssvm-operator:{version}" in (CHART / "Chart.yaml").read_text()


def test_the_chart_names_its_home_and_sources_and_a_release_points_them_at_its_repository() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    urls = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["urls"]
    assert chart["home"] == urls["Homepage"] == urls["Source"]
    assert chart["home"] in chart["sources"] and "https://github.com/apache/cloudstack" in chart["sources"]
    assert chart["icon"].startswith("https://")
    script = step("Package and push the chart")["run"]
    assert f"s|{chart['home']}|${{{{ github.server_url }}}}/${{{{ github.repository }}}}|" in script


def test_a_release_runs_the_whole_test_gate_and_checks_the_versions_agree() -> None:
    assert step("Test")["run"] == "bash .ci/run"
    check = step("Check the version")["run"]
    assert "pyproject.toml" in check and "Chart.yaml" in check


def test_make_image_without_a_working_engine_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "-s", "image", "CONTAINER_ENGINE="],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "MAKEFLAGS": ""},
    )
    assert result.returncode != 0
    assert "no working docker, podman or buildah" in result.stderr


def test_make_image_builds_with_each_engine_s_own_command() -> None:
    def dry_run(engine: str) -> str:
        done = subprocess.run(
            ["make", "-n", "--no-print-directory", "image", f"CONTAINER_ENGINE={engine}"],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]

    version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    image = f"-t ssvm-operator:{version} dist/image-context"
    assert dry_run("/usr/bin/podman") == f"/usr/bin/podman build {image}"
    assert dry_run("docker") == f"docker build {image}"
    assert dry_run("/usr/bin/buildah") == f"/usr/bin/buildah bud {image}"
