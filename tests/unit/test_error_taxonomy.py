"""Which CloudStack failures the operator retries, and which stop it with a reason for the user."""

from __future__ import annotations

import aiohttp
import pytest
from cs import CloudStackApiException, CloudStackException

from ssvm_operator.cloud.errors import AuthError, PermanentError, RetryableError, classify, is_not_found


def api_error(code: int, text: str) -> CloudStackApiException:
    return CloudStackApiException("HTTP error", error={"errorcode": code, "errortext": text, "uuidList": []})


@pytest.mark.parametrize("code", [530, 503, 429, 533])
def test_server_side_trouble_is_retried(code: int) -> None:
    error = classify("destroySystemVm", api_error(code, "Fail to destroy system vm"))
    assert isinstance(error, RetryableError) and error.code == code


def test_a_bad_parameter_is_permanent_and_quotes_cloudstack() -> None:
    error = classify("changeServiceForSystemVm", api_error(431, "Unable to find service offering"))
    assert isinstance(error, PermanentError) and not error.retryable
    assert "changeServiceForSystemVm" in str(error) and "Unable to find service offering" in str(error)


def test_wrong_keys_are_an_auth_error() -> None:
    error = classify(
        "listZones", api_error(401, "unable to verify user credentials and/or request signature")
    )
    assert isinstance(error, AuthError)


def test_an_unknown_id_is_recognised_as_not_found() -> None:
    error = classify(
        "listSystemVms",
        api_error(
            431, "Invalid parameter id value=x due to incorrect long value format, or entity does not exist"
        ),
    )
    assert is_not_found(error)


def test_timeouts_and_connection_failures_are_retried_without_the_url() -> None:
    assert isinstance(classify("listZones", TimeoutError()), RetryableError)
    refused = aiohttp.ClientConnectionError("http://h/client/api?apiKey=SECRET&signature=SIG")
    error = classify("listZones", refused)
    assert isinstance(error, RetryableError)
    assert "SECRET" not in str(error) and "SIG" not in str(error)


def test_a_non_json_page_is_permanent_when_the_url_is_wrong() -> None:
    class Response:
        status = 404

    error = classify(
        "listZones", CloudStackException("HTTP 404 response from CloudStack", response=Response())
    )
    assert isinstance(error, PermanentError) and "endpoint URL" in str(error)
