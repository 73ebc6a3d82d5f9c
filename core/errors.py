"""One exception hierarchy for domain rules; views and CLI turn these into Dutch messages."""
from __future__ import annotations

from decimal import Decimal


class DomainError(Exception):
    """A rule of the domain refused a change; `message` is Dutch and safe to show."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Refusals(DomainError):
    """Several rules refused one change at once; `errors` holds each, so a form shows them all together."""

    def __init__(self, errors: list[DomainError]):
        self.errors = list(errors)
        super().__init__(" ".join(e.message for e in self.errors))

    @classmethod
    def raise_any(cls, errors: list[DomainError]) -> None:
        """Raise nothing, the one error itself, or all of them."""
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise cls(errors)


class Collect:
    """Run several independent checks, keep every refusal, and raise them together at the end.

        c = Collect()
        year = c(validate.year, year)      # None when refused
        ...
        c.raise_any()
    """

    def __init__(self):
        self.errors: list[DomainError] = []

    def __call__(self, rule, *args, **kwargs):
        try:
            return rule(*args, **kwargs)
        except Refusals as exc:
            self.errors.extend(exc.errors)
        except DomainError as exc:
            self.errors.append(exc)
        return None

    def raise_any(self) -> None:
        Refusals.raise_any(self.errors)


class ValidationError(DomainError):
    """Input that can never be valid (wrong format, missing value, unknown code)."""


class NotFound(DomainError):
    """The requested object does not exist (in this programme)."""


class PermissionDenied(DomainError):
    """The actor's role or ownership does not allow this change."""


class InvalidTransition(DomainError):
    """A project status change that the lifecycle does not allow."""


class Conflict(DomainError):
    """The change clashes with existing data (duplicate key, dependants)."""


class BudgetStopError(DomainError):
    """A change would make a year's free room negative (or overpay a commitment).

    `shortfalls` is the amount short per year (forms mark those year fields); the rule that
    refuses builds the message (budget.rules), so this module formats no money.
    """

    def __init__(self, shortfalls: dict[int, Decimal], message: str):
        self.shortfalls = dict(sorted(shortfalls.items()))
        super().__init__(message)


class StaleEdit(Exception):
    """A form based on an old version of a record: someone else changed it in the meantime.

    Deliberately not a DomainError: it is not a rule to show on the form but a 409 page with
    the current values, so nothing the other person saved is overwritten.
    """

    def __init__(self, current: dict | None = None, what: str = ""):
        super().__init__("In de tussentijd gewijzigd door iemand anders.")
        self.current = current or {}
        self.what = what
