"""Watch streams: a change history for `?resourceVersion=N` resumption, and per-request subscriptions.

Semantics kept from a real apiserver (plain kmock replays everything as ADDED on every reconnect and
never ends a stream, README.md §1):
* no `resourceVersion` (or "0"): synthetic ADDED events for the current objects, then live changes;
* `resourceVersion=N`: the changes after N; if N is older than the kept history, an ERROR event 410;
* `sendInitialEvents=true`: the initial ADDED events end with a BOOKMARK annotated
  `k8s.io/initial-events-end: "true"` (kopf's watch-list mode);
* label/field selectors see objects entering (ADDED) and leaving (DELETED) the selection;
* `timeoutSeconds` ends the stream; a disconnected client ends it within a second.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from kube_emulator.resources import Body

StorageKey = tuple[str, str, str]


@dataclass(frozen=True)
class Change:
    """One stored change: the object after it (and before it, for selector transitions)."""

    resource_version: int
    storage_key: StorageKey
    type: str  # ADDED, MODIFIED, DELETED
    body: Body
    old: Body | None = None


@dataclass(eq=False)
class Subscription:
    storage_key: StorageKey
    queue: asyncio.Queue[Change | None] = field(default_factory=asyncio.Queue)


class ChangeHistory:
    """Recent changes of all resources, and the live subscriptions to them."""

    def __init__(self, limit: int = 50_000) -> None:
        self._changes: collections.deque[Change] = collections.deque()
        self._limit = limit
        self.compacted_until = 0  # changes at or before this resourceVersion are no longer kept
        self._subscriptions: set[Subscription] = set()

    def publish(self, change: Change) -> None:
        self._changes.append(change)
        while len(self._changes) > self._limit:
            self.compacted_until = self._changes.popleft().resource_version
        for subscription in list(self._subscriptions):
            if subscription.storage_key == change.storage_key:
                subscription.queue.put_nowait(change)

    def since(self, resource_version: int, storage_key: StorageKey) -> list[Change] | None:
        """The changes after a resourceVersion, or None if that version is too old (410 Gone)."""
        if resource_version < self.compacted_until:
            return None
        return [
            c for c in self._changes if c.resource_version > resource_version and c.storage_key == storage_key
        ]

    def subscribe(self, storage_key: StorageKey) -> Subscription:
        subscription = Subscription(storage_key)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def close_all(self) -> None:
        """End every open watch stream (used at shutdown so the HTTP server can stop promptly)."""
        for subscription in list(self._subscriptions):
            subscription.queue.put_nowait(None)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)


@dataclass
class WatchRequest:
    """A watch as the client asked for it, plus how to filter and render what it sees."""

    matches: Callable[[Body], bool]  # namespace/name/selectors, on the stored body
    render: Callable[[str, Body], dict[str, Any]]  # (event type, stored body) -> watch event
    bookmark: Callable[[int, bool], dict[str, Any]]  # (resourceVersion, initial-events-end) -> event
    initial: list[Change]  # ADDED events (snapshot) or the replayed changes since resourceVersion
    send_initial_bookmark: bool
    initial_resource_version: int
    timeout: float | None
    connected: Callable[[], bool]


def _transition(change: Change, matches: Callable[[Body], bool]) -> str | None:
    """The event type a filtered watcher sees for a change (None: the change is invisible to it)."""
    now = matches(change.body)
    if change.type != "MODIFIED":
        return change.type if now else None
    before = change.old is not None and matches(change.old)
    if now and before:
        return "MODIFIED"
    if now:
        return "ADDED"
    if before:
        return "DELETED"
    return None


POLL_INTERVAL = 0.5


async def stream(
    history: ChangeHistory, request: WatchRequest, subscription: Subscription
) -> AsyncIterator[Any]:
    """Yield watch events (dicts) until timeout, disconnect, or shutdown; `b""` first to send headers."""
    deadline = time.monotonic() + request.timeout if request.timeout is not None else None
    try:
        yield b""  # kmock prepares the HTTP response on the first chunk: send headers right away
        for change in request.initial:
            kind = _transition(change, request.matches)
            if kind is not None:
                yield request.render(kind, change.body)
        if request.send_initial_bookmark:
            yield request.bookmark(request.initial_resource_version, True)
        while True:
            wait = POLL_INTERVAL if deadline is None else min(POLL_INTERVAL, deadline - time.monotonic())
            if wait <= 0:
                return
            try:
                async with asyncio.timeout(wait):
                    next_change = await subscription.queue.get()
            except TimeoutError:
                if not request.connected():
                    return
                continue
            if next_change is None:
                return
            kind = _transition(next_change, request.matches)
            if kind is not None:
                yield request.render(kind, next_change.body)
    finally:
        history.unsubscribe(subscription)
