"""AWS errors as one line a person can act on, and whose move it is (exit status 1 or 2).

The one place that reads botocore and boto3 exceptions for people: the CLI prints
``explain(error).message`` (``mlops.command``) and ``mlops.data.io`` prefixes it with the S3
URI it was working on. Status 2 means the command line is wrong (an unknown ``--profile``, a
parameter AWS's model refuses); everything AWS answered or could not be asked is status 1.

Access-denied messages follow IAM's documented format, "User: <principal> is not authorized to
perform: <action> on resource: <resource> because no <type> policy allows the <action> action"
or "... with an explicit deny in a <type> policy" (IAM User Guide, *Troubleshoot access denied
error messages*); the guide warns that some services use other texts (S3 often says only
"Access Denied", EC2 an encoded message), so the action falls back to the operation called.

Imports stay light: botocore is imported only when an error is being explained.

It is also the one reading of "that resource no longer exists" (:func:`is_not_found`), used by
the CLI, teardown and the Studio clean-up alike: a not-found code, or, as SageMaker often
answers, a validation error whose message says it could not find the resource. Anything else
is not "gone": callers never treat an error they do not understand as success.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXIT_FAILURE = 1
EXIT_USAGE = 2

# Error codes by meaning, across the services' protocols (JSON, query, EC2, REST-XML).
_ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"}
)
_EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
_BAD_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidToken",
    }
)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "EC2ThrottledException",
    }
)
_NOT_FOUND = frozenset(
    {
        "ResourceNotFound",
        "ResourceNotFoundException",
        "NotFoundException",
        "NoSuchEntity",
        "NoSuchBucket",
        "NoSuchKey",
        "NotFound",
        "404",
        # EFS and EC2 (the Studio storage clean-up).
        "FileSystemNotFound",
        "MountTargetNotFound",
        "InvalidGroup.NotFound",
        "InvalidPermission.NotFound",
        "InvalidNetworkInterfaceID.NotFound",
    }
)
# SageMaker (and others) report a missing resource as a validation error with these phrases.
_VALIDATION = frozenset({"ValidationException", "ValidationError"})
_NOT_FOUND_PHRASES = ("could not find", "does not exist", "not found", "cannot be found")

_DENIED = re.compile(
    r"not authorized to perform:? (?P<action>[\w.*-]+:[\w*-]+)"
    r"(?: on resource:? \"?(?P<resource>[^\s\"]+)\"?)?"
    r"(?: (?:because no (?P<missing>[\w -]+?) policy allows|with an explicit deny in an? "
    r"(?P<deny>[\w -]+?) policy))?"
)

HOW_TO_SET_REGION = (
    "pass --region, set `region` for the environment in cdk.json, or configure one "
    "(export AWS_REGION=eu-west-1, or aws configure set region eu-west-1)"
)
HOW_TO_GET_CREDENTIALS = (
    "run aws configure (or aws sso login --profile NAME and pass --profile NAME), or export "
    "AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


@dataclass(frozen=True)
class Explanation:
    message: str  # one line: what happened and how to fix it
    status: int  # EXIT_FAILURE or EXIT_USAGE


def error_code(error: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (e.g. ``AccessDeniedException``), else ``""``."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def error_message(error: BaseException) -> str:
    """The AWS error message of a ``ClientError``, else ``""``."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Message", ""))


def is_not_found(error: BaseException) -> bool:
    """Whether AWS answered that the resource asked about does not exist (for a delete: the
    goal is already met)."""
    code = error_code(error)
    if code in _NOT_FOUND:
        return True
    message = error_message(error).lower()
    return code in _VALIDATION and any(phrase in message for phrase in _NOT_FOUND_PHRASES)


def explain(error: BaseException, *, region: str | None = None) -> Explanation | None:
    """One line for an AWS error (botocore or boto3), or None when ``error`` is not one.

    ``region`` (the one the command used) is named where it helps, e.g. in "not found".
    """
    module = type(error).__module__
    if not module.startswith(("botocore", "boto3")):
        return None
    from botocore import exceptions as aws

    if isinstance(error, aws.ClientError):
        return _explain_client_error(error, region)
    cause = error.__context__
    if module.startswith("boto3") and isinstance(cause, aws.ClientError):
        return _explain_client_error(cause, region)  # e.g. S3UploadFailedError wraps one
    return _explain_botocore_error(error)


def _explain_botocore_error(error: BaseException) -> Explanation:
    from botocore import exceptions as aws

    def failure(message: str) -> Explanation:
        return Explanation(message, EXIT_FAILURE)

    if isinstance(error, aws.NoRegionError):
        return failure(f"no AWS region: {HOW_TO_SET_REGION}")
    if isinstance(error, aws.NoCredentialsError):
        return failure(f"no AWS credentials found: {HOW_TO_GET_CREDENTIALS}")
    if isinstance(error, aws.PartialCredentialsError | aws.CredentialRetrievalError):
        return failure(f"AWS credentials are incomplete ({error}): {HOW_TO_GET_CREDENTIALS}")
    if isinstance(error, aws.TokenRetrievalError | aws.SSOError):
        return failure(
            f"AWS credentials expired or unusable ({error}): sign in again "
            "(aws sso login --profile NAME) and run the command again"
        )
    if isinstance(error, aws.ProfileNotFound):
        return Explanation(f"{error}: {_known_profiles()}", EXIT_USAGE)
    if isinstance(error, aws.ParamValidationError | aws.InvalidRegionError):
        return Explanation(f"invalid request: {one_line(str(error))}", EXIT_USAGE)
    if isinstance(error, aws.ConnectionError | aws.HTTPClientError):
        url = getattr(error, "kwargs", {}).get("endpoint_url", "AWS")
        return failure(
            f"cannot reach {url} ({type(error).__name__}): check the network, any proxy "
            "(HTTPS_PROXY) and that the region name is right"
        )
    return failure(f"AWS: {one_line(str(error))}")


def _explain_client_error(error: BaseException, region: str | None) -> Explanation:
    response = getattr(error, "response", {})
    details = response.get("Error", {})
    code, message = error_code(error), one_line(str(details.get("Message", "")))
    operation = str(getattr(error, "operation_name", "") or "the request")
    where = f" in {region}" if region else ""

    def failure(text: str) -> Explanation:
        return Explanation(text, EXIT_FAILURE)

    if code in _ACCESS_DENIED:
        return failure(_access_denied(operation, code, message))
    if code in _EXPIRED:
        return failure(
            f"AWS credentials expired ({code}): refresh them (aws sso login --profile NAME, "
            "or new temporary credentials) and run the command again"
        )
    if code in _BAD_CREDENTIALS:
        return failure(
            f"AWS did not accept the credentials ({code} on {operation}): check which ones "
            "are in use (aws sts get-caller-identity, AWS_PROFILE, --profile) and that the "
            "clock is right"
        )
    if code in _THROTTLED:
        attempts = int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
        return failure(
            f"AWS throttled {operation} ({code}, {attempts} attempt"
            f"{'s' if attempts > 1 else ''}): wait a minute and run the command again"
        )
    if is_not_found(error):
        return failure(f"not found{where}: {message or code} ({operation})")
    return failure(f"AWS refused {operation}{where}: {code}: {message}".rstrip(": "))


def _access_denied(operation: str, code: str, message: str) -> str:
    match = _DENIED.search(message)
    if match is None:
        hint = f" ({message})" if message else ""
        if "encoded authorization failure message" in message.lower():
            hint = " (decode the reason with aws sts decode-authorization-message)"
        return (
            f"access denied calling {operation} ({code}){hint}: ask your AWS administrator "
            "for the permission, or use a profile that has it"
        )
    action, resource = match["action"], match["resource"]
    on = f" on {resource}" if resource else ""
    if match["deny"]:
        why = f"an explicit deny in a {match['deny']} policy"
    elif match["missing"]:
        why = f"no {match['missing']} policy allows it"
    else:
        why = "not allowed"
    return (
        f"access denied: {action}{on} ({why}): ask your AWS administrator to allow "
        f"{action}, or use a profile that has it"
    )


def _known_profiles() -> str:
    import botocore.session

    profiles = sorted(botocore.session.Session(profile=None).full_config.get("profiles", {}))
    if not profiles:
        return "no profiles are configured (aws configure --profile NAME creates one)"
    return f"configured profiles: {', '.join(profiles)}"


def one_line(text: str) -> str:
    """``text`` with its lines joined by "; " (a message must stay on one line)."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())
