"""Admission of custom resources: defaulting, pruning, strict fields, openAPIV3Schema and CEL rules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from kube_emulator import cel
from kube_emulator.schema import ObjectSchema
from kube_emulator.testing import EmulatedCluster

pytestmark = pytest.mark.timeout(30)

WidgetFactory = Callable[..., dict[str, Any]]
MERGE = "application/merge-patch+json"


def test_schema_defaults_are_applied_on_create(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("POST", widgets_path, widget())
    assert reply.body["spec"]["mode"] == "fast"


def test_schema_defaults_are_applied_on_update(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    cluster.request("POST", widgets_path, widget(mode="slow"))
    reply = cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"mode": None}}, content_type=MERGE)
    assert reply.body["spec"]["mode"] == "fast"


def test_unknown_fields_are_rejected_in_strict_mode(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("POST", f"{widgets_path}?fieldValidation=Strict", widget(bogus=1))
    assert (reply.status, reply.body["reason"]) == (400, "BadRequest")
    assert reply.body["message"] == (
        'Widget in version "v1" cannot be handled as a Widget: '
        'strict decoding error: unknown field "spec.bogus"'
    )


def test_unknown_fields_are_pruned_with_a_warning_by_default(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    body = widget(bogus=1, extra={"anything": {"goes": True}})
    body["metadata"]["shoeSize"] = 42
    reply = cluster.request("POST", widgets_path, body)
    assert reply.status == 201
    assert "bogus" not in reply.body["spec"] and reply.body["spec"]["extra"] == {"anything": {"goes": True}}
    assert "shoeSize" not in reply.body["metadata"]
    assert '299 - "unknown field \\"spec.bogus\\""' in reply.warnings[0]
    assert "metadata.shoeSize" in reply.warnings[0]


def test_unknown_fields_are_pruned_silently_when_ignored(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("POST", f"{widgets_path}?fieldValidation=Ignore", widget(bogus=1))
    assert reply.status == 201 and "bogus" not in reply.body["spec"] and not reply.warnings


def test_schema_violations_are_reported_like_kubernetes(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("POST", widgets_path, widget(size=30, mode="turbo", zone="Zone_A", port=[1]))
    assert (reply.status, reply.body["reason"]) == (422, "Invalid")
    message = reply.body["message"]
    assert message.startswith('Widget.example.com "w1" is invalid: [')
    assert 'spec.mode: Unsupported value: "turbo": supported values: "fast", "slow"' in message
    assert "spec.size: Invalid value: 30: spec.size in body should be less than or equal to 10" in message
    assert (
        "spec.zone: Invalid value: \"Zone_A\": spec.zone in body should match '^[a-z][a-z0-9-]*$'" in message
    )
    assert (
        'spec.port: Invalid value: "array": spec.port in body must be of type integer,string: "array"'
        in message
    )
    causes = {cause["field"]: cause["reason"] for cause in reply.body["details"]["causes"]}
    assert causes["spec.mode"] == "FieldValueNotSupported" and causes["spec.size"] == "FieldValueInvalid"


def test_required_fields_and_types(cluster: EmulatedCluster, widgets_path: str) -> None:
    body = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": "three"},
    }
    message = cluster.request("POST", widgets_path, body).body["message"]
    assert "spec.zone: Required value" in message
    assert (
        'spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"' in message
    )


def test_int_or_string_and_nullable(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    assert cluster.request("POST", widgets_path, widget("a", port=80, note=None)).status == 201
    assert cluster.request("POST", widgets_path, widget("b", port="http")).status == 201
    stored = cluster.request("GET", f"{widgets_path}/a").body
    assert stored["spec"]["note"] is None  # nullable: kept


def test_null_of_a_non_nullable_field_is_dropped_then_defaulted(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("POST", widgets_path, widget(mode=None))
    assert reply.status == 201 and reply.body["spec"]["mode"] == "fast"


def test_set_lists_reject_duplicates(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    reply = cluster.request("POST", widgets_path, widget(tags=["a", "a"]))
    assert reply.status == 422
    assert 'spec.tags[1]: Duplicate value: "a"' in reply.body["message"]


def test_metadata_names_and_labels_are_validated(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    body = widget("Bad_Name")
    body["metadata"]["labels"] = {"ok": "not ok!"}
    message = cluster.request("POST", widgets_path, body).body["message"]
    assert 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain' in message
    assert 'metadata.labels: Invalid value: "not ok!": a valid label must be an empty string' in message


def test_cel_rule_violation(cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str) -> None:
    reply = cluster.request("POST", widgets_path, widget(size=7))
    assert reply.status == 422
    assert reply.body["message"] == (
        'Widget.example.com "w1" is invalid: spec: Invalid value: "object": size above 5 requires slow mode'
    )
    assert cluster.request("POST", widgets_path, widget(size=7, mode="slow")).status == 201


def test_cel_transition_rule_sees_old_self(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    assert cluster.request("POST", widgets_path, widget(zone="zone-a")).status == 201  # no oldSelf on create
    reply = cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"zone": "zone-b"}}, content_type=MERGE)
    assert reply.status == 422 and 'spec: Invalid value: "object": zone is immutable' in reply.body["message"]
    assert (
        cluster.request("PATCH", f"{widgets_path}/w1", {"spec": {"size": 2}}, content_type=MERGE).status
        == 200
    )


@pytest.mark.emulator  # what the emulator's CEL leaves unevaluated; the real server evaluates every rule
def test_kubernetes_only_cel_rule_is_reported_not_passed_silently(
    cluster: EmulatedCluster, widget: WidgetFactory, widgets_path: str
) -> None:
    skipped = cluster.call(lambda api: api.skipped_cel_rules)
    assert [(rule.path, rule.rule) for rule in skipped] == [("spec.tags", "self.isSorted()")]
    assert "isSorted" in skipped[0].why and "Kubernetes-only" in skipped[0].why
    reply = cluster.request("POST", widgets_path, widget(tags=["b", "a"]))
    assert reply.status == 201
    assert "did not evaluate the x-kubernetes-validations rule at spec.tags" in reply.warnings[0]
    plain = cluster.request("POST", widgets_path, widget("w2"))
    assert not plain.warnings  # the rule's field is absent: nothing was skipped


def test_skipped_rule_is_logged_when_compiled(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kube_emulator.cel"):
        cel.compile_rule("spec.limit", {"rule": "quantity(self).isGreaterThan(quantity('1Gi'))"})
    assert "cel.rule_skipped" in caplog.text and "quantity" in caplog.text


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ("self.name.lowerAscii() == self.name", {"name": "ABC"}, 'Invalid value: "object": failed rule:'),
        ("self.n > 0", {"n": 0}, "failed rule: self.n > 0"),
        ("self.missing > 0", {"n": 0}, "evaluating rule: self.missing > 0"),
    ],
)
def test_cel_messages(rule: str, value: dict[str, Any], expected: str) -> None:
    schema = ObjectSchema.compile(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "x-kubernetes-validations": [{"rule": rule}],
                }
            },
        }
    )
    found, skipped = schema.validate({"spec": value}, None)
    assert not skipped and len(found) == 1 and expected in str(found[0])


def test_cel_message_expression_and_reason() -> None:
    schema = ObjectSchema.compile(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {"n": {"type": "integer"}},
                    "x-kubernetes-validations": [
                        {
                            "rule": "self.n < 3",
                            "messageExpression": "'n is ' + string(self.n)",
                            "reason": "FieldValueForbidden",
                        }
                    ],
                }
            },
        }
    )
    found, _ = schema.validate({"spec": {"n": 5}}, None)
    assert [str(error) for error in found] == ["spec: Forbidden: n is 5"]


def test_cel_field_path_points_at_the_field() -> None:
    schema = ObjectSchema.compile(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
                    "x-kubernetes-validations": [
                        {
                            "rule": "self.min <= self.max",
                            "message": "must not exceed max",
                            "fieldPath": ".min",
                        }
                    ],
                }
            },
        }
    )
    found, _ = schema.validate({"spec": {"min": 5, "max": 1}}, None)
    assert [str(error) for error in found] == ['spec.min: Invalid value: "object": must not exceed max']
