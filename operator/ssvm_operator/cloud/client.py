"""One CloudStack endpoint behind a small async interface: calls, lists, async jobs with deadlines.

Async commands are submitted without cs's `fetch_result`: the caller records the job id (in Kubernetes
status) before it polls, so a restarted operator resumes polling the same job instead of acting twice.

Requests go through an egress proxy when the environment names one: `HTTPS_PROXY`/`HTTP_PROXY` and
`NO_PROXY`, as curl and most clients read them (aiohttp's `trust_env`; cs's own session ignores them).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import aiohttp
from aiolimiter import AsyncLimiter
from cs import AIOCloudStack

from ssvm_operator.cloud.errors import CloudError, JobTimeout, classify, from_code

CallObserver = Callable[[str, float, CloudError | None], None]
"""Told about every request: command, seconds taken, and the error if it failed (metrics, benchmarks)."""


class CloudApi(Protocol):
    """What the operator asks of a CloudStack endpoint. CloudClient is the real one; tests answer it from
    a model (tests/reliability/test_stateful_planner.py)."""

    async def call(self, command: str, **params: Any) -> dict[str, Any]:
        """A synchronous command; the unwrapped response object."""
        ...

    async def list(self, command: str, **params: Any) -> list[dict[str, Any]]:
        """A list command, every page of it."""
        ...

    async def submit(self, command: str, **params: Any) -> str:
        """Queue an async command; its job id, without waiting for it."""
        ...

    async def job(self, job_id: str) -> Job:
        """The job's state now (queryAsyncJobResult)."""
        ...

    async def wait(self, job_id: str, *, deadline: float | None = None) -> Job:
        """Poll a job until it finishes or the deadline (monotonic seconds) passes."""
        ...


@dataclass(frozen=True)
class Credentials:
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    def fingerprint(self) -> int:
        """Changes when the keys change, without keeping them anywhere else."""
        return hash((self.api_key, self.secret_key))


@dataclass(frozen=True)
class ConnectionSettings:
    url: str
    timeout_seconds: float = 30.0
    job_timeout_seconds: float = 900.0
    requests_per_second: float = 10.0
    verify: bool | str = True
    """True, False (insecureSkipTLSVerify) or the path of a CA bundle."""
    job_poll_seconds: float = 2.0


class JobState(StrEnum):
    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class Job:
    id: str
    state: JobState
    result: dict[str, Any] = field(default_factory=dict)
    error_code: int | None = None
    error_text: str | None = None

    @classmethod
    def from_api(cls, job_id: str, data: dict[str, Any]) -> Job:
        # jobstatus is the ordinal of JobInfo.Status: 0 in progress, 1 succeeded, 2 failed, 3 cancelled.
        status = int(data.get("jobstatus", 0))
        result = data.get("jobresult") or {}
        if status == 0:
            return cls(job_id, JobState.PENDING)
        if status == 1 and int(data.get("jobresultcode", 0)) == 0:
            return cls(job_id, JobState.SUCCEEDED, result if isinstance(result, dict) else {"value": result})
        error = result if isinstance(result, dict) else {}
        return cls(
            job_id,
            JobState.FAILED,
            error,
            error_code=int(error.get("errorcode") or data.get("jobresultcode") or 530),
            error_text=str(error.get("errortext") or "the job failed"),
        )


class CloudClient:
    """A rate-limited CloudStack client sharing one HTTP session; use as an async context manager."""

    def __init__(
        self,
        settings: ConnectionSettings,
        credentials: Credentials,
        *,
        observer: CallObserver | None = None,
        limiter: AsyncLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self._observer = observer
        # Shared by every client of one CloudStack (cloud/endpoints.py), else this client's own.
        self._limiter = limiter or AsyncLimiter(
            max_rate=max(settings.requests_per_second, 0.01), time_period=1.0
        )
        # POST keeps the API key and the signature out of URLs, and so out of any error message that
        # quotes a URL; CloudStack accepts every command over POST.
        self._api = AIOCloudStack(
            endpoint=settings.url,
            key=credentials.api_key,
            secret=credentials.secret_key,
            method="post",
            timeout=max(1, round(settings.timeout_seconds)),
            verify=settings.verify if settings.verify is not True else None,
            dangerous_no_tls_verify=settings.verify is False,
        )
        self._entered = False
        self._session: aiohttp.ClientSession | None = None

    def use_limiter(self, limiter: AsyncLimiter) -> None:
        """Take the rate limit another endpoint of the same CloudStack changed."""
        self._limiter = limiter

    async def __aenter__(self) -> CloudClient:
        # cs keeps a session it is given open and uses it for every call; this one honours the proxy
        # variables, with the same socket timeouts and TLS verification cs would use.
        timeout = max(1, round(self.settings.timeout_seconds))
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout),
            connector=aiohttp.TCPConnector(ssl=_tls(self.settings.verify)),
            trust_env=True,
        )
        self._api.session = self._session
        await self._api.__aenter__()
        self._entered = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._entered:
            await self._api.close()
            self._entered = False
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, command: str, **params: Any) -> dict[str, Any]:
        """A synchronous CloudStack command; returns the unwrapped response object."""
        result = await self._request(command, params, fetch_list=False)
        return result if isinstance(result, dict) else {}

    async def list(self, command: str, **params: Any) -> list[dict[str, Any]]:
        """A list command, every page of it."""
        result = await self._request(command, params, fetch_list=True)
        return list(result) if isinstance(result, list) else []

    async def submit(self, command: str, **params: Any) -> str:
        """Queue an async command and return its job id without waiting for it."""
        result = await self.call(command, **params)
        job_id = result.get("jobid")
        if not job_id:
            raise from_code(command, None, "CloudStack returned no job id for an async command")
        return str(job_id)

    async def job(self, job_id: str) -> Job:
        data = await self.call("queryAsyncJobResult", jobid=job_id)
        return Job.from_api(job_id, data)

    async def wait(self, job_id: str, *, deadline: float | None = None) -> Job:
        """Poll a job until it finishes or the deadline (monotonic seconds) passes."""
        if deadline is None:
            deadline = time.monotonic() + self.settings.job_timeout_seconds
        while True:
            job = await self.job(job_id)
            if job.state is not JobState.PENDING:
                return job
            if time.monotonic() >= deadline:
                raise JobTimeout("queryAsyncJobResult", f"job {job_id} still running at its deadline")
            await asyncio.sleep(min(self.settings.job_poll_seconds, max(0.0, deadline - time.monotonic())))

    async def _request(self, command: str, params: dict[str, Any], *, fetch_list: bool) -> Any:
        async with self._limiter:
            started = time.monotonic()
            error: CloudError | None = None
            try:
                # cs has socket timeouts only; a server that trickles bytes must not hang us.
                return await asyncio.wait_for(
                    getattr(self._api, command)(fetch_list=fetch_list, **params),
                    timeout=self.settings.timeout_seconds * (4 if fetch_list else 1) + 1,
                )
            except Exception as exc:
                error = classify(command, exc)
                raise error from None
            finally:
                if self._observer is not None:
                    self._observer(command, time.monotonic() - started, error)


def _tls(verify: bool | str) -> ssl.SSLContext | bool:
    """False (insecureSkipTLSVerify), or a context trusting the system CAs or the given CA bundle."""
    if verify is False:
        return False
    return ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
