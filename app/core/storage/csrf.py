"""The CSRF check of the streamed upload routes, which Litestar's middleware skips.

Litestar's CSRF token (``litestar.middleware.csrf``) is 64 hexadecimal characters of
random secret followed by the hex HMAC-SHA256 of that secret under
``CSRFConfig.secret``. The cookie holds one such token, the form field or the
``x-csrftoken`` header another; they match when both are signed by this server and
carry the same secret. This is the comparison the middleware makes, written with the
module's public ``generate_csrf_hash`` (the sibling of ``generate_csrf_token``, which
``core.security`` uses to rotate the token) instead of calling the middleware's private
``_csrf_tokens_match``. Should Litestar change its token, every upload would be refused
(403), never accepted: tests/integration/core/test_uploads.py sends real tokens, by
field and by header, and would fail.
"""

from __future__ import annotations

from secrets import compare_digest
from typing import TYPE_CHECKING

from litestar.middleware.csrf import generate_csrf_hash

if TYPE_CHECKING:
    from litestar.config.csrf import CSRFConfig

# The random part of a token: 32 bytes in hexadecimal (Litestar's CSRF_SECRET_LENGTH).
TOKEN_SECRET_LENGTH = 64


def _signed_secret(token: str, key: str) -> bytes | None:
    """The random part of a token this server signed, else None."""
    if len(token) <= TOKEN_SECRET_LENGTH:
        return None
    secret, signature = token[:TOKEN_SECRET_LENGTH], token[TOKEN_SECRET_LENGTH:]
    expected = generate_csrf_hash(token=secret, secret=key)
    # As bytes: compare_digest refuses str with non-ASCII characters (a forged header).
    if not compare_digest(signature.encode(), expected.encode()):
        return None
    return secret.encode()


def csrf_tokens_match(config: CSRFConfig, token: str | None, cookie: str | None) -> bool:
    """The submitted token and the cookie are both signed with the app's secret and
    carry the same random part."""
    if not token or not cookie:
        return False
    submitted = _signed_secret(token, config.secret)
    expected = _signed_secret(cookie, config.secret)
    return submitted is not None and expected is not None and compare_digest(submitted, expected)
