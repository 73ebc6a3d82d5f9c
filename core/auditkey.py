"""The audit key: AUDIT_KEY (and AUDIT_KEY_PREVIOUS) from the configuration, each key's id, and the HMAC."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from flask import current_app

#: Whoever guesses the key can rewrite the trail unseen, so it must be as long and random as SECRET_KEY.
MIN_AUDIT_KEY_LENGTH = 32


def key_id(key: bytes) -> str:
    """Names a key in every entry it signed without giving it away: an HMAC of a fixed text, 16 hex."""
    return hmac.new(key, b"programmamonitor audit key id", hashlib.sha256).hexdigest()[:16]


def keyed_hash(key: bytes, payload: bytes) -> str:
    # hmac.digest is OpenSSL's one-shot HMAC: about the cost of the plain sha256 it replaces.
    return hmac.digest(key, payload, "sha256").hex()


@dataclass(frozen=True)
class AuditKeys:
    """The key that signs new entries, and earlier keys that verify still accepts (key rotation)."""

    current: bytes
    previous: tuple[bytes, ...] = ()
    current_id: str = field(init=False)
    _by_id: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "current_id", key_id(self.current))
        object.__setattr__(self, "_by_id", {key_id(k): k for k in (*self.previous, self.current)})

    def lookup(self, kid: str) -> bytes | None:
        return self._by_id.get(kid)

    @classmethod
    def from_text(cls, current: str, previous: str = "") -> AuditKeys:
        """AUDIT_KEY and AUDIT_KEY_PREVIOUS (earlier keys, separated by commas or spaces)."""
        earlier = tuple(k.encode() for k in previous.replace(",", " ").split() if k)
        return cls(current.encode(), earlier)


def audit_keys() -> AuditKeys:
    """The running app's keys (set up by create_app; never stored in the database)."""
    return current_app.extensions["audit_keys"]
