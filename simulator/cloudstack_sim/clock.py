"""Dates as CloudStack writes and reads them.

CloudStack serialises every `Date` as `yyyy-MM-dd'T'HH:mm:ssZ`, e.g. `2025-10-30T12:00:00+0000`
(server/src/main/java/com/cloud/api/ApiResponseGsonHelper.java), and parses the `expires` request
parameter with `DateUtil.parseTZDateString`, which also accepts a few ISO variants
(utils/src/main/java/com/cloud/utils/DateUtil.java L51-63).
"""

from __future__ import annotations

from datetime import UTC, datetime

_RESPONSE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# What DateUtil.parseTZDateString tries, translated to strptime: "Z" zone, numeric offsets, optional millis.
_EXPIRES_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%fZ",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def cs_date(moment: datetime) -> str:
    """A date as it appears in a CloudStack JSON response."""
    return moment.astimezone(UTC).strftime(_RESPONSE_FORMAT)


def parse_expires(text: str) -> datetime | None:
    """The `expires` parameter of a signed request, or None when CloudStack could not parse it either."""
    for fmt in _EXPIRES_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


def last_pinged_quirk(moment: datetime) -> str:
    """The `lastpinged` of a host row, wrong the way CloudStack gets it wrong.

    `host.last_ping` stores `System.currentTimeMillis() >> 10` (HostDaoImpl.java L1137-1141) but the
    response renders it as milliseconds (`new Date(host.getLastPinged())`, HostJoinDaoImpl), so real
    servers show a date around 1970-01-20.
    """
    stored = int(moment.timestamp() * 1000) >> 10
    return cs_date(datetime.fromtimestamp(stored / 1000, UTC))
