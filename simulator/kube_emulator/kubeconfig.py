"""A kubeconfig pointing at the emulator: plain HTTP and a dummy bearer token (nothing is authenticated)."""

from __future__ import annotations

import os
import pathlib

import yaml

CONTEXT = "kube-emulator"
DUMMY_TOKEN = "kube-emulator-dummy-token"


def render(url: str, namespace: str = "default") -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {"token": DUMMY_TOKEN}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write(path: str | os.PathLike[str], url: str, namespace: str = "default") -> pathlib.Path:
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(render(url, namespace), encoding="utf-8")
    temporary.replace(target)  # atomic: a client never reads a half-written kubeconfig
    return target
