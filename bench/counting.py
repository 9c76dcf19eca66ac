"""A CloudClient that also counts the rows CloudStack returned, so a benchmark can weigh the answers."""

from __future__ import annotations

from typing import Any

from ssvm_operator.cloud.client import CloudClient, ConnectionSettings, Credentials


class RowCountingClient(CloudClient):
    def __init__(self, url: str, api_key: str, secret_key: str) -> None:
        # No client-side rate limit: the benchmark counts requests, it does not pace them.
        super().__init__(
            ConnectionSettings(url, requests_per_second=100_000), Credentials(api_key, secret_key)
        )
        self.rows = 0

    async def list(self, command: str, **params: Any) -> list[dict[str, Any]]:
        result = await super().list(command, **params)
        self.rows += len(result)
        return result
