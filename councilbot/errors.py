"""Errors that reach a city employee. Their message is Japanese and complete."""

from collections.abc import Iterator
from contextlib import contextmanager


class CouncilbotError(Exception):
    """A refusal or failure explained to the user in one Japanese sentence.

    Anything raising this has changed nothing: services raise before they write,
    or inside a transaction that is rolled back.

    ``field`` names the input the refusal is about (a name of the service's input,
    such as ``"seat"`` or ``"note"``), so that a form can show it beside that field.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(CouncilbotError):
    """A question, session, member, department or user that does not exist."""


class InvalidInput(CouncilbotError):
    """Input that cannot be used as given (empty, too long, malformed)."""


class PermissionDenied(CouncilbotError):
    """The acting user does not hold the role this action needs."""


class InvalidTransition(CouncilbotError):
    """The question is not in a state from which this action is allowed."""


class StaleVersion(CouncilbotError):
    """Someone else changed the item since it was loaded (optimistic locking)."""


class BlockedByPolicy(CouncilbotError):
    """Text that the generative-AI rules forbid sending to a model."""


class ProviderError(CouncilbotError):
    """The language model failed (timeout, rate limit, server error)."""


@contextmanager
def concerning(field: str) -> Iterator[None]:
    """Refusals raised inside are about ``field`` of the caller's input, unless they name one already."""
    try:
        yield
    except CouncilbotError as exc:
        if exc.field is None:
            exc.field = field
        raise
