"""What the deletion of an SSVMSettings waits for, and how a user ends the wait."""

from __future__ import annotations

from ssvm_operator.plan.restore import RESTORE_ABANDONED_ANNOTATION, abandoned, restore_due, restore_hold


def test_only_an_enforced_restore_policy_holds_the_deletion() -> None:
    base = {"endpointRef": {"name": "e"}}
    assert restore_due({**base, "deletionPolicy": "Restore"})
    assert not restore_due({**base, "deletionPolicy": "Restore", "mode": "Observe"}), "nothing was changed"
    assert not restore_due(base), "Orphan is the default"
    assert not restore_due({"deletionPolicy": "Restore"}), "a spec that never parsed was never applied"


def test_only_the_annotation_set_to_true_gives_up() -> None:
    assert abandoned({RESTORE_ABANDONED_ANNOTATION: "True"})
    assert not abandoned({RESTORE_ABANDONED_ANNOTATION: "no"})
    assert not abandoned(None)


def test_the_hold_names_what_is_pending_why_and_the_command_to_give_up() -> None:
    hold = restore_hold("EndpointNotFound", "endpoint gone", ["b", "a"], "ops", "cfg", needs_user=True)
    assert "a, b not restored yet (endpoint gone)" in hold.message
    assert f"kubectl annotate -n ops ssvmsettings cfg {RESTORE_ABANDONED_ANNOTATION}=true" in hold.message
    assert hold.needs_user and "fix that" in hold.message
    retried = restore_hold("CloudStackUnreachable", "503", [], "ops", "cfg", needs_user=False)
    assert "retried until CloudStack answers" in retried.message
