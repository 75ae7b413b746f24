"""How the platform reads AWS errors: the error code, and "that resource no longer exists".

One reading for every caller (teardown, Studio clean-up): a resource is gone when the service
says so with a not-found code, or, as SageMaker often does, with a ``ValidationException``
whose message says it could not find it. Anything else is not "gone": callers must not treat
an error they do not understand as success.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

GONE_CODES = frozenset(
    {
        "ResourceNotFound",
        "ResourceNotFoundException",
        "NoSuchBucket",
        "FileSystemNotFound",
        "MountTargetNotFound",
        "InvalidGroup.NotFound",
        "InvalidPermission.NotFound",
        "InvalidNetworkInterfaceID.NotFound",
    }
)
# SageMaker reports a missing resource as a ValidationException with one of these phrases.
_GONE_PHRASES = ("could not find", "does not exist", "not found", "cannot be found")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def is_gone(error: ClientError) -> bool:
    """The resource no longer exists: the goal of deleting it is already met."""
    code = error_code(error)
    if code in GONE_CODES:
        return True
    if code != "ValidationException":
        return False
    message = error_message(error).lower()
    return any(phrase in message for phrase in _GONE_PHRASES)
