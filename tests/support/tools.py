"""The external programs some tests run (kubectl, helm, promtool, lua5.4, openssl, kube-apiserver, etcd),
found the same way everywhere: the project's pinned copy in .tools/bin (`make tools`), else the one on PATH.

A missing tool fails the test: `make test` must not pass by skipping what it could not run. Set
SSVM_TESTS_ALLOW_MISSING_TOOLS=1 to skip those tests instead, e.g. for a quick run without `make tools`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.paths import REPOSITORY

ALLOW_MISSING = "SSVM_TESTS_ALLOW_MISSING_TOOLS"
PINNED = REPOSITORY / ".tools" / "bin"
# Where each tool comes from when `make tools` fetches it, for the message when it is missing.
SOURCES = {
    "kubectl": "`make tools` fetches it (or set $KUBECTL)",
    "helm": "`make tools` fetches it",
    "promtool": "`make tools` fetches it from Debian's prometheus package",
    "prometheus": "`make tools` fetches the server from Debian's prometheus package",
    "lua5.4": "`make tools` fetches it from Debian's lua5.4 package",
    "openssl": "install the openssl command-line tool",
    "kube-apiserver": "`make tools` builds it with Go (or set KUBEBUILDER_ASSETS)",
    "etcd": "`make tools` builds it with Go (or set KUBEBUILDER_ASSETS)",
}
# Tools whose path an environment variable may give, as the emulated cluster reads it too.
OVERRIDES = {"kubectl": "KUBECTL"}
# Tools an environment variable may name the directory of: controller-runtime's envtest binaries.
DIRECTORIES = {"kube-apiserver": "KUBEBUILDER_ASSETS", "etcd": "KUBEBUILDER_ASSETS"}


def find_tool(name: str) -> Path | None:
    """The tool's path, or None when it is nowhere to be found."""
    override = os.environ.get(OVERRIDES.get(name, ""))
    if override and Path(override).is_file():
        return Path(override)
    directory = os.environ.get(DIRECTORIES.get(name, ""))
    if directory and (Path(directory) / name).is_file():
        return Path(directory) / name
    pinned = PINNED / name
    if pinned.is_file():
        return pinned
    found = shutil.which(name)
    return Path(found) if found else None


def require_tool(name: str) -> Path:
    """The tool's path; a test that needs a missing tool fails (or skips, when ALLOW_MISSING is set)."""
    found = find_tool(name)
    if found is not None:
        return found
    message = f"{name} not found: {SOURCES.get(name, 'install it')}"
    if os.environ.get(ALLOW_MISSING) == "1":
        pytest.skip(f"{message} ({ALLOW_MISSING}=1)")
    pytest.fail(f"{message}; set {ALLOW_MISSING}=1 to skip the tests that need it", pytrace=False)
