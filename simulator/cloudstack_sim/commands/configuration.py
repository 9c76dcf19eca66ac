"""Settings commands: listConfigurations, updateConfiguration, resetConfiguration.

Sources: ConfigurationManagerImpl.updateConfiguration (L752-1105), validateConfigurationValue
(L1308-1338), ManagementServerImpl.searchForConfigurations (L2253-2403), UpdateCfgCmd and ResetCfgCmd;
cloudstack-contract.md §5. None of them says whether a change needs a management-server restart: callers
must read `isdynamic`.
"""

from __future__ import annotations

import base64
from typing import Any

from cloudstack_sim import views
from cloudstack_sim.catalogue import SCOPE_ENUM_NAMES, SCOPE_NAMES, Scope, Setting, check_value, java_class
from cloudstack_sim.commands import Command, Services
from cloudstack_sim.commands.systemvms import max_page_size
from cloudstack_sim.errors import internal_error, invalid_parameter
from cloudstack_sim.params import LIST_PARAMS, Kind, Param, keyword_matches, page_of, same_text
from cloudstack_sim.releases import CIDR_VALIDATION_SINCE

LIST_CONFIGURATIONS_PAGE_SIZE = 500
"""ListCfgsByCmd.getPageSizeVal: 500 whatever default.page.size says."""

# Scope parameters in the order the commands declare them, with the scope each one selects.
_UPDATE_SCOPES = (
    ("zoneid", Scope.ZONE),
    ("clusterid", Scope.CLUSTER),
    ("storageid", Scope.STORAGE_POOL),
    ("accountid", Scope.ACCOUNT),
    ("domainid", Scope.DOMAIN),
    ("imagestoreuuid", Scope.IMAGE_STORE),
)
_RESET_SCOPES = (
    ("zoneid", Scope.ZONE),
    ("clusterid", Scope.CLUSTER),
    ("storageid", Scope.STORAGE_POOL),
    ("domainid", Scope.DOMAIN),
    ("accountid", Scope.ACCOUNT),
    ("imagestoreid", Scope.IMAGE_STORE),
)


def _scope_targets(args: dict[str, Any], scopes: tuple[tuple[str, Scope], ...]) -> list[tuple[Scope, str]]:
    targets = []
    for param, scope in scopes:
        entity = args.get(param)
        if entity is not None:
            targets.append((scope, str(getattr(entity, "uuid", entity))))
    return targets


def _encrypted(value: str | None) -> str | None:
    """Hidden and Secure values leave the server encrypted (DBEncryptionUtil); this is a stand-in cipher."""
    if value is None:
        return None
    return base64.b64encode(f"sim-encrypted:{value}".encode()).decode()


def _shown(setting: Setting, value: str | None) -> str | None:
    return _encrypted(value) if setting.hidden else value


async def list_configurations(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    cloud = services.cloud
    store = cloud.settings
    page = page_of(args, max_page_size(services), default_page_size=LIST_CONFIGURATIONS_PAGE_SIZE)
    targets = _scope_targets(args, _UPDATE_SCOPES)
    scope, entity = targets[0] if targets else (None, None)
    matching = [
        setting
        for setting in sorted(cloud.release.settings(), key=lambda s: s.name)
        if not setting.hidden  # category Hidden is never listed (L2366)
        and (scope is None or setting.allows(scope))
        # `name` is a LIKE %name% match, not equality (L2334-2336).
        and ("name" not in args or args["name"].lower() in setting.name.lower())
        and ("category" not in args or same_text(setting.category, args["category"]))
        and ("group" not in args or same_text(setting.group, args["group"]))
        and ("subgroup" not in args or same_text(setting.subgroup, args["subgroup"]))
        and keyword_matches(args.get("keyword"), setting.name)
    ]
    items = []
    for setting in page.apply(matching):
        if scope is not None and entity is not None:
            value = store.effective(setting.name, scope, entity)
            items.append(views.configuration(cloud.release, setting, value, SCOPE_NAMES[scope]))
        else:
            # Without a scope id the response has no `scope` field at all.
            items.append(views.configuration(cloud.release, setting, store.global_value(setting.name)))
    return views.list_body("configuration", items, len(matching))


async def update_configuration(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    name = args["name"]
    if not name.strip():
        raise invalid_parameter("Empty configuration name provided")
    cloud = services.cloud
    setting = cloud.require_setting(name)
    requested: str | None = args.get("value")
    store = cloud.settings
    targets = _scope_targets(args, _UPDATE_SCOPES)
    if requested is None:
        # No value: nothing changes; the current row comes back with its value left out (L1041-1043).
        return {"configuration": views.configuration(cloud.release, setting, None)}
    if len(targets) > 1:
        raise invalid_parameter("cannot handle multiple IDs, provide only one ID corresponding to the scope")
    scope, entity = targets[0] if targets else (Scope.GLOBAL, "")
    value: str | None = requested.strip()
    if scope is Scope.GLOBAL:
        value = None if value in ("", "null") else value
    elif value == "null":
        value = ""
    if scope is not Scope.GLOBAL and not setting.allows(scope):
        raise invalid_parameter(f"Invalid scope id provided for the parameter {setting.name}")
    value = _as_stored(setting, value)
    check_value(setting, value, check_cidrs=cloud.release.version >= CIDR_VALIDATION_SINCE)
    if scope is Scope.GLOBAL:
        store.set_global(setting.name, value)
    else:
        store.set_scoped(scope, entity, setting.name, value or "")
    # UpdateCfgCmd answers with the value as requested, and a lower-case scope only when an id was passed.
    scope_name = SCOPE_NAMES.get(scope) if targets and scope is not Scope.IMAGE_STORE else None
    shown = _shown(setting, requested)
    return {"configuration": views.configuration(cloud.release, setting, shown, scope_name)}


def _as_stored(setting: Setting, value: str | None) -> str | None:
    """ConfigurationManagerImpl.updateConfiguration(userId, name, category, value, scope, id) lower-cases a
    Boolean value before it validates and stores it (the answer still echoes the requested text). Clearing a
    Boolean reaches that `value.toLowerCase()` with null: a NullPointerException, so 530; clearing an Integer
    fails validateValueType with 431."""
    if setting.java_type == "Boolean":
        if value is None:
            # ApiServer.handleRequest shows a root admin the exception's own (Java 17 helpful NPE) message.
            raise internal_error('Cannot invoke "String.toLowerCase()" because "value" is null')
        return value.lower()
    if value is None and setting.java_type in ("Integer", "Long"):
        raise invalid_parameter(f"Value [null] is not a valid [{java_class(setting.java_type)}].")
    return value


async def reset_configuration(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    cloud = services.cloud
    setting = cloud.require_setting(args["name"])
    store = cloud.settings
    targets = _scope_targets(args, _RESET_SCOPES)
    if len(targets) > 1:
        raise invalid_parameter("cannot handle multiple IDs, provide only one ID corresponding to the scope")
    if not targets:
        store.set_global(setting.name, setting.default)
        return {
            "configuration": views.configuration(cloud.release, setting, _shown(setting, setting.default))
        }
    scope, entity = targets[0]
    if not setting.allows(scope):
        raise invalid_parameter(f"Invalid scope id provided for the parameter {setting.name}")
    store.clear_scoped(scope, entity, setting.name)
    # A scoped reset removes the override; the answer shows the inherited value and the enum-cased scope.
    value = store.effective(setting.name, scope, entity)
    shown = _shown(setting, value)
    return {"configuration": views.configuration(cloud.release, setting, shown, SCOPE_ENUM_NAMES[scope])}


_SCOPE_PARAMS = (
    Param("zoneid", Kind.UUID, entity="zone"),
    Param("clusterid", Kind.UUID, entity="cluster"),
    Param("storageid", Kind.UUID, entity="storagepool"),
    Param("accountid", Kind.UUID, entity="account"),
    Param("domainid", Kind.UUID, entity="domain"),
)

COMMANDS = (
    Command(
        "listConfigurations",
        (
            Param("name"),
            Param("category"),
            *_SCOPE_PARAMS,
            Param("imagestoreuuid", Kind.UUID, entity="imagestore"),
            Param("group"),
            Param("subgroup"),
            Param("parent"),
            *LIST_PARAMS,
        ),
        list_configurations,
    ),
    Command(
        "updateConfiguration",
        (
            Param("name", required=True),
            Param("value", max_length=4096),
            *_SCOPE_PARAMS,
            Param("imagestoreuuid", Kind.UUID, entity="imagestore"),
        ),
        update_configuration,
    ),
    Command(
        "resetConfiguration",
        (Param("name", required=True), *_SCOPE_PARAMS, Param("imagestoreid", Kind.UUID, entity="imagestore")),
        reset_configuration,
        since="4.16.0",
    ),
)
