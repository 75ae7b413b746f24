"""Errors the platform raises on purpose; their message is the one line a user sees."""


class MlopsError(Exception):
    """Base of the errors whose message is meant for people (CLI prints it, exit code 2)."""


class InputError(MlopsError, ValueError):
    """Bad input from a user or an event: the message names what is wrong and what is allowed."""


class RetryableError(MlopsError):
    """The work could not be done now but may succeed later (e.g. an endpoint is updating)."""
