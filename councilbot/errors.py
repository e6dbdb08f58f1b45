"""Errors that reach a city employee. Their message is Japanese and complete."""


class CouncilbotError(Exception):
    """A refusal or failure explained to the user in one Japanese sentence.

    Anything raising this has changed nothing: services raise before they write,
    or inside a transaction that is rolled back.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
