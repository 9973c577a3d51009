"""What the credentials store answers, and the sign-in policy built on it (pure).

Sign-in is refused for deleted and pending users and for users of organisations that are
Pending or Rejected (read from the read models); users of Suspended organisations may sign
in and read, the processor refuses their writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The registry's Root is its first user (created by the one-time setup).
ROOT_USER_ID = 1
MAX_FAILED_LOGINS = 5
LOCK_S = 15 * 60
REFUSED_ORGANISATION_STATES = {"Pending": "pending", "Rejected": "rejected"}


@dataclass(frozen=True)
class LoginRecord:
    """One account's stored password and lock, as the sign-in needs them."""

    user_id: int
    email: str
    password_hash: str
    locked_for_s: float  # 0 when the account is not locked


@dataclass(frozen=True)
class AccountStatus:
    """What the read models say about a user (``read_model`` False: not created yet)."""

    read_model: bool
    found: bool = False
    pending: bool = False
    organisation_state: str | None = None
    deleted: bool = False


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    title: str


def login_refusal(user_id: int, status: AccountStatus) -> Refusal | None:
    """Why this (correctly authenticated) user may not sign in now, or None.

    Without read models yet (a registry whose read side never ran) only Root may sign in.
    A user the read models do not show yet was created moments ago by an accepted command
    (projection lags by milliseconds) and may sign in: the processor still checks
    ``pending`` on every command, the read API on every read, and a refresh checks again.
    """
    if not status.read_model:
        if user_id == ROOT_USER_ID:
            return None
        return Refusal(
            503, "auth.account_not_ready", "Sign-in is not possible yet; retry in a moment."
        )
    if not status.found:
        return None
    if status.deleted:
        return Refusal(403, "auth.user_deleted", "This account was deleted.")
    # The organisation first: a registration's pending admin learns where it stands.
    state = REFUSED_ORGANISATION_STATES.get(status.organisation_state or "")
    if state is not None:
        return Refusal(
            403,
            f"auth.organisation_{state}",
            f"Your organisation's registration is {state}; its users cannot sign in.",
        )
    if status.pending:
        return Refusal(403, "auth.user_pending", "Your account is not active yet.")
    return None


class RefreshOutcome(StrEnum):
    OK = "ok"
    INVALID = "invalid"  # unknown token (or purged long after expiry)
    EXPIRED = "expired"
    REVOKED = "revoked"  # signed out, or a password change ended the session
    REUSED = "reused"  # an already rotated token came back: the whole family is revoked


@dataclass(frozen=True)
class RefreshResult:
    outcome: RefreshOutcome
    user_id: int | None = None
    family_id: str | None = None


class ResetOutcome(StrEnum):
    OK = "ok"
    INVALID = "invalid"  # unknown or already used
    EXPIRED = "expired"


@dataclass(frozen=True)
class ResetResult:
    outcome: ResetOutcome
    user_id: int | None = None
