"""Typed service errors: a safe public message (translatable) and a detail for the log."""


class ServiceError(Exception):
    """Base class; `message` is safe to show to the user, `detail` goes to the log only."""

    status_code = 400

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.message = message
        self.detail = detail or message


class ValidationError(ServiceError):
    """Bad input; `errors` maps a field name to a list of messages."""

    def __init__(self, errors, detail=None):
        self.errors = {k: list(v) for k, v in errors.items() if v}
        first = next(iter(self.errors.values()))[0] if self.errors else "invalid input"
        super().__init__(first, detail)


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409
