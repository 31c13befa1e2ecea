"""Who may call the service: bearer tokens for the JSON API, signed JWTs for CDS Hooks.

CDS Hooks clients authenticate with a JWT signed by their private key (CDS Hooks 2.0,
"Trusting CDS Clients"). PyJWT checks the signature with the issuer's published JWK Set,
``exp``, ``iat`` and ``aud``; this module adds what the spec asks on top: the issuer must
be allow-listed, ``jku`` (when given) must be that issuer's key set, ``alg`` must be
asymmetric (never ``none`` or HMAC), and a ``jti`` is accepted once. Key sets are fetched
over HTTPS and cached (PyJWKClient); calls block, so the server runs them off the event loop.
"""

from __future__ import annotations

import heapq
import hmac
import threading
import time
from collections.abc import Sequence
from typing import Any, Final

import jwt

from .errors import AuthError
from .service_config import Issuer, ServiceConfig, token_digest

#: Asymmetric JWS algorithms; HMAC ("HS*") and "none" are refused, as CDS Hooks requires.
ALGORITHMS: Final = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
_LEEWAY_S: Final = 30  # clock skew allowed between the client and this service
_MAX_LIFETIME_S: Final = 3600  # a JWT valid longer than this is refused (bounds the jti memory)


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("an 'Authorization: Bearer ...' header is required")
    return token.strip()


class Authenticator:
    """Checks requests against a service configuration; one per worker process."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self._issuers = {i.iss: i for i in config.cds_issuers}
        self._keys = {
            i.iss: jwt.PyJWKClient(i.jwks_url, cache_keys=True, lifespan=300, timeout=5)
            for i in config.cds_issuers
        }
        self._seen: set[str] = set()  # "iss jti" of JWTs not yet expired
        self._expiry: list[tuple[float, str]] = []  # heap of (exp, "iss jti")
        self._lock = threading.Lock()

    def check_api(self, authorization: str | None) -> None:
        """Accept a bearer token whose sha256 is configured (any token when none is)."""
        if not self.config.api_auth:
            return
        digest = token_digest(_bearer(authorization))
        # compare_digest with every configured digest: the time taken tells nothing.
        if not any([hmac.compare_digest(digest, d) for d in self.config.api_tokens_sha256]):
            raise AuthError("the bearer token is not accepted")

    def check_cds(self, authorization: str | None, audiences: Sequence[str]) -> dict[str, Any]:
        """Accept a CDS client's JWT addressed to one of ``audiences`` (absolute URLs);
        return its claims. Passes everything when no issuer is configured."""
        if not self.config.cds_auth:
            return {}
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthError(f"not a JWT: {exc}") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise AuthError(
                f"alg {alg!r} is not accepted; use an asymmetric algorithm such as ES384"
            )
        issuer = self._issuers.get(str(unverified.get("iss")))
        if issuer is None:
            raise AuthError(f"issuer {unverified.get('iss')!r} is not allow-listed")
        claims = self._verify(token, header, issuer, audiences)
        self._once(issuer.iss, claims)
        return claims

    def _verify(
        self, token: str, header: dict[str, Any], issuer: Issuer, audiences: Sequence[str]
    ) -> dict[str, Any]:
        if "jku" in header and header["jku"] != issuer.jwks_url:
            raise AuthError(f"jku {header['jku']!r} is not the key set of {issuer.iss!r}")
        if not header.get("kid"):
            raise AuthError("the JWT header has no kid")
        try:
            key = self._keys[issuer.iss].get_signing_key(header["kid"])
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                audience=list(audiences),
                issuer=issuer.iss,
                leeway=_LEEWAY_S,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthError(f"cannot fetch the key set of {issuer.iss!r}: {exc}") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"the JWT is not accepted: {exc}") from None
        if claims["exp"] - time.time() > _MAX_LIFETIME_S:
            raise AuthError(f"exp is more than {_MAX_LIFETIME_S} s away")
        return claims

    def _once(self, iss: str, claims: dict[str, Any]) -> None:
        """Refuse a jti seen before (a replay) until its JWT expires."""
        now = time.time()
        key = f"{iss} {claims['jti']}"
        with self._lock:
            while self._expiry and self._expiry[0][0] + _LEEWAY_S < now:
                self._seen.discard(heapq.heappop(self._expiry)[1])
            if key in self._seen:
                raise AuthError("this JWT (jti) was already used")
            self._seen.add(key)
            heapq.heappush(self._expiry, (float(claims["exp"]), key))
