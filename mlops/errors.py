"""Errors the platform raises on purpose; their message is the one line a user sees."""


class MlopsError(Exception):
    """Base of the errors whose message is meant for people. The CLI prints it as one line;
    exit status 1 (the state of AWS or the work does not allow it), 2 for an InputError."""


class InputError(MlopsError, ValueError):
    """Bad input from a user or an event: the message names what is wrong and what is allowed
    (CLI exit status 2)."""


class RetryableError(MlopsError):
    """The work could not be done now but may succeed later (e.g. an endpoint is updating)."""
