"""The real kubectl (v1.34) against the emulator, with its default strict validation."""

from __future__ import annotations

import re
import subprocess
import threading
import time

import pytest

from kube_emulator.testing import EmulatedCluster, find_kubectl

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("kubectl_available")]

W1 = """
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  labels: {tier: gold}
spec:
  size: 3
  zone: zone-a
"""
W1_PATH = "/apis/example.com/v1/namespaces/default/widgets/w1"


def apply(cluster: EmulatedCluster, manifest: str, *args: str) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("apply", "-f", "-", *args, input=manifest)


def test_apply_and_get_with_printer_columns(cluster: EmulatedCluster) -> None:
    assert apply(cluster, W1).stdout.strip() == "widget.example.com/w1 created"
    assert apply(cluster, W1).stdout.strip() == "widget.example.com/w1 unchanged"
    lines = cluster.kubectl("get", "widgets", check=True).stdout.splitlines()
    assert lines[0].split() == ["NAME", "ZONE", "SIZE", "READY", "AGE"]
    assert lines[1].split()[:3] == ["w1", "zone-a", "3"]
    wide = cluster.kubectl("get", "wd", "-o", "wide", check=True).stdout.splitlines()
    assert wide[0].split() == ["NAME", "ZONE", "SIZE", "READY", "MODE", "AGE"]
    assert wide[1].split()[3] == "fast"  # the defaulted mode; READY is empty
    everywhere = cluster.kubectl("get", "wd", "-A", "-l", "tier in (gold,x)", check=True).stdout
    assert everywhere.splitlines()[1].split()[:2] == ["default", "w1"]
    by_field = cluster.kubectl("get", "wd", "--field-selector", "metadata.name=nope", check=True)
    assert "No resources found" in by_field.stderr


def test_strict_validation_rejects_unknown_fields(cluster: EmulatedCluster) -> None:
    result = apply(cluster, W1.replace("size: 3", "size: 3\n  bogus: 1"))
    assert result.returncode != 0
    assert 'strict decoding error: unknown field "spec.bogus"' in result.stderr
    relaxed = apply(cluster, W1.replace("size: 3", "size: 3\n  bogus: 1"), "--validate=false")
    assert relaxed.returncode == 0
    spec = cluster.kubectl("get", "wd", "w1", "-o", "jsonpath={.spec}", check=True).stdout
    assert spec == '{"mode":"fast","size":3,"zone":"zone-a"}'  # pruned by the server


def test_schema_violation_is_rejected_with_a_clear_message(cluster: EmulatedCluster) -> None:
    result = apply(cluster, W1.replace("size: 3", "size: three"))
    assert result.returncode != 0
    assert (
        'spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"'
        in result.stderr
    )


def test_cel_violation_is_rejected(cluster: EmulatedCluster) -> None:
    result = apply(cluster, W1.replace("size: 3", "size: 7"))
    assert result.returncode != 0
    assert (
        'The Widget "w1" is invalid: spec: Invalid value: "object": size above 5 requires slow mode'
        in result.stderr
    )


def test_patch_merge_status_and_strategic(cluster: EmulatedCluster) -> None:
    apply(cluster, W1)
    merged = cluster.kubectl("patch", "wd", "w1", "--type", "merge", "-p", '{"spec":{"size":4}}', check=True)
    assert merged.stdout.strip() == "widget.example.com/w1 patched"
    status = '{"status":{"phase":"Ready","conditions":[{"type":"Ready","status":"True"}]}}'
    cluster.kubectl("patch", "wd", "w1", "--subresource=status", "--type", "merge", "-p", status, check=True)
    row = cluster.kubectl("get", "wd", "w1", "--no-headers", check=True).stdout.split()
    assert row[:4] == ["w1", "zone-a", "4", "True"]
    strategic = cluster.kubectl("patch", "wd", "w1", "-p", '{"spec":{"size":5}}')
    assert (
        strategic.returncode != 0
        and "application/strategic-merge-patch+json is not supported" in strategic.stderr
    )


def test_describe_shows_status_and_events(cluster: EmulatedCluster) -> None:
    apply(cluster, W1)
    status = '{"status":{"phase":"Ready"}}'
    cluster.kubectl("patch", "wd", "w1", "--subresource=status", "--type", "merge", "-p", status, check=True)
    uid = cluster.kubectl("get", "wd", "w1", "-o", "jsonpath={.metadata.uid}", check=True).stdout
    event = f"""
apiVersion: v1
kind: Event
metadata: {{name: w1.1}}
involvedObject: {{apiVersion: example.com/v1, kind: Widget, name: w1, namespace: default, uid: "{uid}"}}
reason: Assembled
message: all parts in place
type: Normal
source: {{component: widget-operator}}
"""
    apply(cluster, event)
    described = cluster.kubectl("describe", "widget", "w1", check=True).stdout
    assert re.search(r"Status:\n\s+Phase:\s+Ready", described), described
    events = described.split("Events:")[1]
    assert "Assembled" in events and "widget-operator" in events and "all parts in place" in events


def test_wait_for_jsonpath(cluster: EmulatedCluster) -> None:
    apply(cluster, W1)

    def become_ready() -> None:
        patch = {"status": {"phase": "Ready"}}
        cluster.request("PATCH", f"{W1_PATH}/status", patch, content_type="application/merge-patch+json")

    threading.Timer(0.3, become_ready).start()
    result = cluster.kubectl("wait", "wd/w1", "--for=jsonpath={.status.phase}=Ready", "--timeout=10s")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "widget.example.com/w1 condition met"


def test_delete_waits_for_finalizers(cluster: EmulatedCluster) -> None:
    apply(cluster, W1.replace("labels: {tier: gold}", "finalizers: [example.com/cleanup]"))

    def release() -> None:
        patch = {"metadata": {"finalizers": None}}
        cluster.request("PATCH", W1_PATH, patch, content_type="application/merge-patch+json")

    timer = threading.Timer(0.5, release)
    timer.start()
    started = time.monotonic()
    result = cluster.kubectl("delete", "wd", "w1", "--timeout=10s")
    timer.join()
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 0.4  # it did wait for the finalizer
    assert cluster.kubectl("get", "wd", "w1").returncode != 0


def test_explain(cluster: EmulatedCluster) -> None:
    explained = cluster.kubectl("explain", "widget.spec", check=True).stdout
    assert "KIND:       Widget" in explained
    assert "size\t<integer> -required-" in explained and "How many parts the widget has." in explained
    assert "enum: fast, slow" in explained


def test_replace_diff_server_dry_run_and_server_side_apply(cluster: EmulatedCluster) -> None:
    apply(cluster, W1)
    live = cluster.kubectl("get", "wd", "w1", "-o", "yaml", check=True).stdout
    assert cluster.kubectl("replace", "-f", "-", input=live.replace("size: 3", "size: 2"), check=True)
    stale = cluster.kubectl("replace", "-f", "-", input=live.replace("size: 3", "size: 4"))
    assert stale.returncode != 0 and "the object has been modified" in stale.stderr
    diff = cluster.kubectl("diff", "-f", "-", input=W1)
    assert diff.returncode == 1 and "-  size: 2" in diff.stdout and "+  size: 3" in diff.stdout
    # `replace` of the live YAML left a resourceVersion in kubectl's last-applied annotation: the next
    # client-side apply patches it away, and a custom resource refuses an update without one.
    refused = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=W1.replace("size: 3", "size: 1"))
    assert refused.returncode != 0 and "must be specified for an update" in refused.stderr, refused.stderr
    dry = cluster.kubectl(
        "apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", "-", input=W1
    )
    assert "(server dry run)" in dry.stdout, dry.stderr
    assert cluster.kubectl("get", "wd", "w1", "-o", "jsonpath={.spec.size}", check=True).stdout == "2"
    ssa = cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=W1, check=True)
    assert ssa.stdout.strip() == "widget.example.com/w1 serverside-applied"


def test_get_watch_streams_changes(cluster: EmulatedCluster) -> None:
    apply(cluster, W1)
    process = subprocess.Popen(
        [str(find_kubectl()), "get", "wd", "-w", "--no-headers"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cluster.env(),
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().split()[:3] == ["w1", "zone-a", "3"]
        cluster.kubectl("patch", "wd", "w1", "--type", "merge", "-p", '{"spec":{"size":2}}', check=True)
        assert process.stdout.readline().split()[:3] == ["w1", "zone-a", "2"]
    finally:
        process.kill()
        process.communicate()


def test_built_in_namespaces_and_configmaps(cluster: EmulatedCluster) -> None:
    namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n"
    assert apply(cluster, namespace).stdout.strip() == "namespace/team-a created"
    assert "team-a" in cluster.kubectl("get", "ns", check=True).stdout
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: team-a}\ndata: {a: '1'}\n"
    assert apply(cluster, config).returncode == 0
    reapplied = apply(cluster, config.replace("'1'", "'2'"))
    assert reapplied.stdout.strip() == "configmap/c configured", reapplied.stderr
    row = cluster.kubectl("get", "cm", "-n", "team-a", "--no-headers", check=True).stdout.split()
    assert row[:2] == ["c", "1"]


@pytest.mark.emulator  # a difference: the real server speaks protobuf
def test_kubectls_typed_generators_are_refused_for_sending_protobuf(cluster: EmulatedCluster) -> None:
    typed = cluster.kubectl("create", "namespace", "team-b")
    assert typed.returncode != 0 and "unknown format" in typed.stderr


def test_crd_applied_with_kubectl_becomes_served(cluster: EmulatedCluster) -> None:
    crd = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.example.net}
spec:
  group: example.net
  scope: Cluster
  names: {plural: gizmos, singular: gizmo, kind: Gizmo, shortNames: [gz]}
  versions:
    - name: v1beta1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                color: {type: string, default: blue}
"""
    assert (
        apply(cluster, crd).stdout.strip()
        == "customresourcedefinition.apiextensions.k8s.io/gizmos.example.net created"
    )
    cluster.kubectl(
        "wait", "--for=condition=established", "crd/gizmos.example.net", "--timeout=10s", check=True
    )
    gizmo = "apiVersion: example.net/v1beta1\nkind: Gizmo\nmetadata: {name: g1}\nspec: {}\n"
    assert apply(cluster, gizmo).returncode == 0
    assert cluster.kubectl("get", "gz", "g1", "-o", "jsonpath={.spec.color}", check=True).stdout == "blue"
