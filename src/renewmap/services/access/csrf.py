"""CSRF tokens, always minted by the server.

Browser writes carry a double-submit token: the ``rm_csrf`` cookie's value repeated in the
``X-CSRF-Token`` header. A value the client chose (set through a sibling subdomain, or planted
in a shared browser) would make the pair trivially equal, so the token also carries a keyed
signature: only values this server minted with its secret pass.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def _signature(secret: str, nonce: str) -> str:
    mac = hmac.new(secret.encode(), f"csrf:{nonce}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def mint(secret: str) -> str:
    """A new token: a random nonce and its signature."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_signature(secret, nonce)}"


def genuine(secret: str, token: str | None) -> bool:
    """Whether ``token`` was minted by this server (with this secret)."""
    if not token or token.count(".") != 1 or len(token) > 100:
        return False
    nonce, signature = token.split(".")
    return bool(nonce) and hmac.compare_digest(signature, _signature(secret, nonce))
