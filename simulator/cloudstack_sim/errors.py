"""CloudStack's error answers: HTTP status, `errorcode`, `cserrorcode` and the JSON around them.

Sources: api/src/main/java/org/apache/cloudstack/api/ApiErrorCode.java (HTTP status == errorcode),
api/src/main/java/org/apache/cloudstack/api/response/ExceptionResponse.java and
utils/src/main/java/com/cloud/utils/exception/CSExceptionErrorCode.java (cserrorcode values).
"""

from __future__ import annotations

from typing import Any

# ApiErrorCode
BAD_REQUEST = 400
UNAUTHORIZED = 401
PARAM_ERROR = 431
UNSUPPORTED_ACTION = 432
SERVICE_UNAVAILABLE = 503
INTERNAL_ERROR = 530

# CSExceptionErrorCode
CS_CLOUD_RUNTIME = 4250
CS_INVALID_PARAMETER = 4350
CS_SERVER_API = 9999
"""A ServerApiException raised without a cause, e.g. missing or malformed parameters."""

UNAUTHORIZED_TEXT = "unable to verify user credentials and/or request signature"
ERROR_RESPONSE_KEY = "errorresponse"


class ApiError(Exception):
    """An error CloudStack reports to the caller: synchronously as an HTTP status, or inside a failed job."""

    def __init__(self, code: int, text: str, cserrorcode: int | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.cserrorcode = cserrorcode

    def body(self) -> dict[str, Any]:
        """The ExceptionResponse object: uuidList always, cserrorcode only when CloudStack sets one."""
        body: dict[str, Any] = {"uuidList": [], "errorcode": self.code}
        if self.cserrorcode is not None:
            body["cserrorcode"] = self.cserrorcode
        body["errortext"] = self.text
        return body

    def job_result(self) -> dict[str, Any]:
        """Inside a failed job ResponseObjectTypeAdapter writes only errorcode and errortext."""
        return {"errorcode": self.code, "errortext": self.text}


def invalid_parameter(text: str) -> ApiError:
    """InvalidParameterValueException: 431 with cserrorcode 4350."""
    return ApiError(PARAM_ERROR, text, CS_INVALID_PARAMETER)


def param_error(text: str) -> ApiError:
    """ServerApiException(PARAM_ERROR) raised by the parameter processor: 431 with cserrorcode 9999."""
    return ApiError(PARAM_ERROR, text, CS_SERVER_API)


def internal_error(text: str) -> ApiError:
    """A failure inside a job or a CloudRuntimeException: 530."""
    return ApiError(INTERNAL_ERROR, text, CS_CLOUD_RUNTIME)


def unauthorized() -> ApiError:
    # The 401 paths set no cserrorcode (ApiServlet L418-427).
    return ApiError(UNAUTHORIZED, UNAUTHORIZED_TEXT)


def missing_parameter(command: str, parameter: str) -> ApiError:
    # ParamProcessWorker.processParameters: the command name without its "response" suffix.
    return param_error(
        f"Unable to execute API command {command.lower()} due to missing parameter {parameter}"
    )


def unparsable_value(command: str, parameter: str, value: str) -> ApiError:
    return param_error(
        f"Unable to execute API command {command.lower()} due to invalid value {value} "
        f"for parameter {parameter}"
    )


def unknown_entity(command: str, parameter: str, value: str) -> ApiError:
    """A UUID that resolves to no row (ParamProcessWorker.translateUuidToInternalId)."""
    return param_error(
        f"Unable to execute API command {command.lower()} due to invalid value. "
        f"Invalid parameter {parameter} "
        f"value={value} due to incorrect long value format, or entity does not exist or due to incorrect "
        "parameter annotation for the field in api cmd class."
    )


def error_document(response_key: str, error: ApiError) -> dict[str, Any]:
    return {response_key: error.body()}
