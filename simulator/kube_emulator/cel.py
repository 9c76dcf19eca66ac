"""CEL `x-kubernetes-validations` with cel-expr-python (Google cel-cpp, core + strings extension).

Kubernetes' CEL environment also has libraries no PyPI package implements (quantity, url, ip/cidr, regex
`find`, list `isSorted`/`sum`, `format`, semver, authorizer; README.md §4). A rule that needs one of them
cannot be compiled here: it is reported once in the log when the schema is loaded, and a `Warning`
header is added to every request that skipped it — it never passes silently.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_optional, ext_strings

from kube_emulator import errors

log = logging.getLogger(__name__)

# Functions of Kubernetes' own CEL libraries (k8s.io/apiserver/pkg/cel/library); used to explain a
# compile failure as "Kubernetes-only library" rather than as a broken rule.
KUBERNETES_ONLY_FUNCTIONS = frozenset(
    {
        "quantity",
        "isQuantity",
        "isGreaterThan",
        "isLessThan",
        "compareTo",
        "asApproximateFloat",
        "asInteger",
        "isInteger",
        "sign",
        "add",
        "sub",
        "url",
        "isURL",
        "getScheme",
        "getHost",
        "getHostname",
        "getPort",
        "getEscapedPath",
        "getQuery",
        "ip",
        "isIP",
        "cidr",
        "isCIDR",
        "family",
        "isUnspecified",
        "isLoopback",
        "isLinkLocalMulticast",
        "isLinkLocalUnicast",
        "isGlobalUnicast",
        "containsIP",
        "containsCIDR",
        "prefixLength",
        "masked",
        "isSorted",
        "sum",
        "min",
        "max",
        "indexOf",
        "lastIndexOf",
        "find",
        "findAll",
        "format",
        "named",
        "validate",
        "semver",
        "isSemver",
        "major",
        "minor",
        "patch",
        "authorizer",
    }
)

_UNDECLARED = re.compile(r"undeclared reference to '([^']+)'")
_OLD_SELF = re.compile(r"\boldSelf\b")

# Field error reasons a rule may ask for (CRD `x-kubernetes-validations[].reason`).
REASON_INVALID = "FieldValueInvalid"
REASON_FORBIDDEN = "FieldValueForbidden"
REASON_REQUIRED = "FieldValueRequired"
REASON_DUPLICATE = "FieldValueDuplicate"


def _new_env() -> cel.Env:
    return cel.NewEnv(
        variables={"self": cel.Type.DYN, "oldSelf": cel.Type.DYN},
        extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional()],
    )


_ENV: cel.Env | None = None


def environment() -> cel.Env:
    global _ENV
    if _ENV is None:
        _ENV = _new_env()
    return _ENV


@dataclass(frozen=True)
class SkippedRule:
    """A rule that cannot be evaluated here, kept for logs, warnings and test assertions."""

    path: str
    rule: str
    why: str

    def warning(self) -> str:
        where = self.path or "<root>"
        return f"kube-emulator did not evaluate the x-kubernetes-validations rule at {where} ({self.why})"


@dataclass
class Rule:
    """One compiled `x-kubernetes-validations` entry."""

    path: str
    rule: str
    message: str
    reason: str
    field_path: str
    program: Any | None  # cel.Expression; None when skipped
    message_program: Any | None
    skipped: SkippedRule | None

    @property
    def is_transition(self) -> bool:
        return bool(_OLD_SELF.search(self.rule))


def compile_rule(path: str, spec: Mapping[str, Any]) -> Rule:
    text = str(spec.get("rule", "")).strip()
    message = str(spec.get("message", "") or "")
    reason = str(spec.get("reason", "") or REASON_INVALID)
    field_path = str(spec.get("fieldPath", "") or "")
    skipped: SkippedRule | None = None
    program: Any | None = None
    message_program: Any | None = None
    env = environment()
    try:
        program = env.compile(text)
    except RuntimeError as exc:
        skipped = SkippedRule(path, text, _explain_compile_error(str(exc)))
    if spec.get("optionalOldSelf") and skipped is None:
        skipped = SkippedRule(path, text, "optionalOldSelf is not supported by the emulator")
        program = None
    if spec.get("messageExpression"):
        try:
            message_program = env.compile(str(spec["messageExpression"]))
        except RuntimeError as exc:
            log.warning("cel.message_expression_skipped path=%s error=%s", path, _first_line(str(exc)))
    if skipped is not None:
        log.warning("cel.rule_skipped path=%s rule=%r why=%s", path or "<root>", text, skipped.why)
    return Rule(path, text, message, reason, field_path, program, message_program, skipped)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _explain_compile_error(text: str) -> str:
    names = sorted(set(_UNDECLARED.findall(text)))
    k8s_only = [name for name in names if name in KUBERNETES_ONLY_FUNCTIONS]
    if k8s_only:
        return (
            f"uses the Kubernetes-only CEL function(s) {', '.join(k8s_only)}, unavailable in cel-expr-python"
        )
    return f"does not compile with cel-expr-python: {_first_line(text)}"


def evaluate(
    rule: Rule, path: str, schema_type: str, value: Any, old_value: Any, has_old: bool
) -> errors.FieldError | None:
    """Evaluate one rule against `self` (and `oldSelf`); return the field error it produces, if any."""
    if rule.program is None:
        return None
    data = {"self": value}
    if has_old:
        data["oldSelf"] = old_value
    result = rule.program.eval(data=data)
    target = path + rule.field_path if rule.field_path else path
    if result.type() == cel.Type.ERROR:
        detail = f"{_first_line(str(result.value()))} evaluating rule: {rule.rule}"
        if "No matching overloads" in str(result.value()):
            detail = (
                f"'{_first_line(str(result.value()))}': call arguments did not match a supported operator, "
                f"function or macro signature for rule: {rule.rule}"
            )
        return errors.invalid(target, schema_type, detail)
    if result.value() is True:
        return None
    message = _message(rule, data) or rule.message or f"failed rule: {rule.rule}"
    return _field_error(target, schema_type, message, rule.reason)


def _message(rule: Rule, data: Mapping[str, Any]) -> str:
    if rule.message_program is None:
        return ""
    result = rule.message_program.eval(data=data)
    if result.type() == cel.Type.ERROR or not isinstance(result.value(), str):
        return ""
    return str(result.value()).strip()


def _field_error(path: str, schema_type: str, message: str, reason: str) -> errors.FieldError:
    # k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go: fieldErrorForReason.
    if reason == REASON_FORBIDDEN:
        return errors.forbidden(path, message)
    if reason == REASON_REQUIRED:
        return errors.required(path, message)
    if reason == REASON_DUPLICATE:
        return errors.FieldError(
            path, REASON_DUPLICATE, f"Duplicate value: {errors.render_value(schema_type)}"
        )
    return errors.FieldError(
        path, REASON_INVALID, f"Invalid value: {errors.render_value(schema_type)}: {message}"
    )
