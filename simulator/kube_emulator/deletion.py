"""Deletion as an apiserver does it: preconditions, finalizers (deletionTimestamp first, the object goes
when the last one is removed), background garbage collection of dependents, namespace finalization, and
the objects a deleted CRD served. Functions of the Store, which calls them from `Store.delete`."""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

from kube_emulator import errors, kmock_compat
from kube_emulator import store as stored  # the module; `store` below is the Store
from kube_emulator.resources import Body, ResourceSpec
from kube_emulator.watch import Change

if TYPE_CHECKING:
    from kube_emulator.store import StorageKey, Store, WriteResult

log = logging.getLogger(__name__)


# -- deleting ------------------------------------------------------------------------------------


def delete(
    store: Store, spec: ResourceSpec, namespace: str | None, name: str, options: Body, dry_run: bool
) -> WriteResult:
    current = store.get(spec, namespace, name)
    check_preconditions(store, spec, current, options.get("preconditions") or {})
    meta = current["metadata"]
    if spec.storage_key == stored.NAMESPACES:
        return delete_namespace(store, current, dry_run)
    if meta.get("finalizers"):
        if meta.get("deletionTimestamp"):
            return stored.WriteResult(current)
        marked = copy.deepcopy(current)
        marked["metadata"]["deletionTimestamp"] = stored.timestamp(store.clock())
        marked["metadata"]["deletionGracePeriodSeconds"] = 0
        if dry_run:
            return stored.WriteResult(marked)
        marked["metadata"]["resourceVersion"] = store._next_version()
        store._save(spec.storage_key, marked)
        store.history.publish(Change(store.resource_version, spec.storage_key, "MODIFIED", marked, current))
        return stored.WriteResult(marked)
    if dry_run:
        return stored.WriteResult(current)
    final = copy.deepcopy(current)
    final["metadata"]["resourceVersion"] = store._next_version()
    remove(store, spec.storage_key, final, orphan=options.get("propagationPolicy") == "Orphan")
    return stored.WriteResult(final)


def check_preconditions(store: Store, spec: ResourceSpec, current: Body, preconditions: Body) -> None:
    meta = current["metadata"]
    name = str(meta.get("name", ""))
    # kube-apiserver names the kind here, not the resource as in other conflicts.
    subject = f"{spec.kind}.{spec.group}" if spec.group else spec.kind
    uid = preconditions.get("uid")
    if uid and uid != meta.get("uid"):
        raise errors.ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {subject} "{name}": the UID in the precondition ({uid}) '
            f"does not match the UID in record ({meta.get('uid')}). The object might have been deleted "
            "and then recreated",
        )
    version = preconditions.get("resourceVersion")
    if version and version != meta.get("resourceVersion"):
        raise errors.ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {subject} "{name}": the ResourceVersion in the '
            f"precondition ({version}) does not match the ResourceVersion in record "
            f"({meta.get('resourceVersion')}). The object might have been modified",
        )


def remove(store: Store, storage: StorageKey, final: Body, *, orphan: bool = False) -> None:
    meta = final["metadata"]
    kmock_compat.remove(store.objects, storage, meta.get("namespace"), str(meta["name"]))
    store.history.publish(Change(int(meta["resourceVersion"]), storage, "DELETED", final))
    if storage == stored.CRDS:
        drop_crd(store, final)
    if not orphan:
        collect_dependents(store, str(meta.get("uid", "")))
    namespace = meta.get("namespace")
    if namespace:
        finalize_namespace(store, namespace)


def collect_dependents(store: Store, owner_uid: str) -> None:
    """Background garbage collection: delete objects whose owners are all gone."""
    if not owner_uid:
        return
    live_uids = {str(body["metadata"].get("uid")) for _, body in kmock_compat.scan(store.objects)}
    for storage, body in list(kmock_compat.scan(store.objects)):
        owners = body["metadata"].get("ownerReferences") or []
        if not any(ref.get("uid") == owner_uid for ref in owners):
            continue
        if any(ref.get("uid") in live_uids for ref in owners):
            continue
        spec = store.registry.storage_keys().get(storage)
        if spec is not None:
            meta = body["metadata"]
            try:
                delete(store, spec, meta.get("namespace"), str(meta["name"]), {}, dry_run=False)
            except errors.ApiError:
                log.debug("gc.skip name=%s", meta.get("name"))


def delete_namespace(store: Store, current: Body, dry_run: bool) -> WriteResult:
    name = str(current["metadata"]["name"])
    if current["metadata"].get("deletionTimestamp"):
        return stored.WriteResult(current)
    marked = copy.deepcopy(current)
    marked["metadata"]["deletionTimestamp"] = stored.timestamp(store.clock())
    marked["metadata"]["deletionGracePeriodSeconds"] = 0
    marked.setdefault("status", {})["phase"] = "Terminating"
    if dry_run:
        return stored.WriteResult(marked)
    marked["metadata"]["resourceVersion"] = store._next_version()
    store._save(stored.NAMESPACES, marked)
    store.history.publish(Change(store.resource_version, stored.NAMESPACES, "MODIFIED", marked, current))
    for storage, spec in store.registry.storage_keys().items():
        if not spec.namespaced:
            continue
        for body in store.list_objects(spec, name):
            try:
                delete(store, spec, name, str(body["metadata"]["name"]), {}, dry_run=False)
            except errors.ApiError:
                log.debug("namespace.cleanup.skip storage=%s", storage)
    finalize_namespace(store, name)
    return stored.WriteResult(store.find_namespace(name) or marked)


def finalize_namespace(store: Store, name: str) -> None:
    """Remove a terminating namespace once nothing is left in it (the namespace controller's job)."""
    namespace = store.find_namespace(name)
    if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
        return
    for spec in store.registry.storage_keys().values():
        if spec.namespaced and store.list_objects(spec, name):
            return
    final = copy.deepcopy(namespace)
    final.setdefault("spec", {})["finalizers"] = []
    final["metadata"]["resourceVersion"] = store._next_version()
    remove(store, stored.NAMESPACES, final)


def drop_crd(store: Store, crd: Body) -> None:
    spec = crd.get("spec") or {}
    group = str(spec.get("group", ""))
    plural = str((spec.get("names") or {}).get("plural", ""))
    for served in store.registry.by_plural(group, plural):
        for body in store.list_objects(served, None):
            final = copy.deepcopy(body)
            final["metadata"]["resourceVersion"] = store._next_version()
            remove(store, served.storage_key, final)
        break
    store.registry.remove(group, plural)
