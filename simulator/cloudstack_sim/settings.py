"""Setting values as the `configuration` table and the scoped detail tables hold them.

This is the database side only. What a management server obeys is its own copy, taken at its start
(ManagementServer.in_force): non-dynamic keys read in `configure()` ignore later database changes until
that server restarts (cloudstack-contract.md §1.6, §4).
"""

from __future__ import annotations

from cloudstack_sim.catalogue import SETTINGS, Scope, find


class SettingsStore:
    def __init__(self) -> None:
        self._global: dict[str, str | None] = {setting.name: setting.default for setting in SETTINGS}
        # Scoped overrides: (scope, entity uuid, name) -> value. Zone values live in data_center_details.
        self._scoped: dict[tuple[Scope, str, str], str] = {}

    def global_value(self, name: str) -> str | None:
        return self._global.get(name)

    def set_global(self, name: str, value: str | None) -> None:
        self._global[name] = value

    def scoped_value(self, scope: Scope, entity: str, name: str) -> str | None:
        """The override at that scope, or None when there is none."""
        return self._scoped.get((scope, entity, name))

    def effective(self, name: str, scope: Scope | None = None, entity: str | None = None) -> str | None:
        """ConfigKey.valueIn: the scoped override if one is set, otherwise the global value."""
        if scope is not None and entity is not None:
            value = self._scoped.get((scope, entity, name))
            if value is not None:
                return value
        return self._global.get(name)

    def set_scoped(self, scope: Scope, entity: str, name: str, value: str) -> None:
        self._scoped[(scope, entity, name)] = value

    def clear_scoped(self, scope: Scope, entity: str, name: str) -> None:
        self._scoped.pop((scope, entity, name), None)

    def snapshot(self) -> dict[str, str | None]:
        """The global values a management server reads when it starts."""
        return dict(self._global)

    def overrides(self, name: str) -> dict[str, dict[str, str]]:
        """Scoped values of one setting: {"zone": {uuid: value}, ...}."""
        found: dict[str, dict[str, str]] = {}
        for (scope, entity, key), value in self._scoped.items():
            if key == name:
                found.setdefault(str(scope.name).lower(), {})[entity] = value
        return found

    def known(self, name: str) -> bool:
        return find(name) is not None
