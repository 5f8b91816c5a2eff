"""Verification of Ponto Connect webhook deliveries (and, for the stand-in and the tests, their signing).

From public evidence (docs in ../shared/ponto-api.md, section 5: Ibanity's official Ruby and .NET SDKs and the
Ruby SDK's signature fixture):

- every delivery carries a ``Signature`` request header holding a compact JWT signed with RS512 (RSASSA-PKCS1-v1_5
  over SHA-512), whose JOSE header is ``{"alg": "RS512", "kid": "<key id>"}``;
- its claims are ``iss`` (``https://api.ibanity.com``), ``aud`` (the Ibanity application id), ``iat``, ``exp``
  (``iat`` + 60 s in the fixture), ``jti`` and ``digest``: the standard (not URL-safe) Base64 of the SHA-512 of the
  raw request body bytes;
- the keys are a JWKS at ``https://api.ibanity.com/webhooks/keys`` (``kty`` RSA, ``alg`` RS512, ``use`` sig,
  ``status`` ACTIVE); a receiver caches it and fetches it again when a ``kid`` is unknown; the Ruby SDK allows
  30 s of clock skew. The real key set's ``n`` has been seen with a trailing ``=``, so padding is tolerated.

Our choices (not from the sources): a refetch for an unknown ``kid`` happens at most once per 10 s (a flood of
forged ``kid`` values cannot make us hammer the key endpoint); a periodic refresh that fails keeps the keys already
held (an outage of the key endpoint does not stop deliveries signed with a key we know); ``iat`` must be present;
``nbf`` is honoured if present; a ``crit`` header is refused. Only ``cryptography`` is used (no JWT library).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

ISSUER = "https://api.ibanity.com"
ALGORITHM = "RS512"
#: An unknown ``kid`` makes the key set fetched again, but never more often than this.
MIN_REFETCH_SECONDS = 10.0

_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


class WebhookSignatureError(Exception):
    """A delivery that must not be trusted. ``reason`` is a short machine code, ``str(exc)`` a sentence:

    malformed, algorithm, unknown_key, signature, issuer, audience, expired, not_yet_valid, digest, keys_unavailable.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class WebhookClaims:
    kid: str
    iss: str
    aud: str | tuple[str, ...]  # as the token gave it; a list becomes a tuple
    iat: int
    exp: int
    jti: str
    digest: str


def _b64url_decode(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_to_b64url(value: int) -> str:
    return _b64url_encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def body_digest(body: bytes) -> str:
    """The ``digest`` claim of a body: standard Base64 of its SHA-512."""
    return base64.b64encode(hashlib.sha512(body).digest()).decode("ascii")


def _public_key_of(jwk: Any) -> tuple[str, RSAPublicKey] | None:
    """The (kid, key) of one JWKS entry fit to verify webhooks, or None to skip it."""
    if not isinstance(jwk, dict):
        return None
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        return None
    if jwk.get("kty") != "RSA" or jwk.get("use") != "sig":
        return None
    if "alg" in jwk and jwk["alg"] != ALGORITHM:
        return None
    if "status" in jwk and jwk["status"] != "ACTIVE":
        return None
    n, e = jwk.get("n"), jwk.get("e")
    if not isinstance(n, str) or not isinstance(e, str):
        return None
    try:
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(_b64url_decode(e), "big"), int.from_bytes(_b64url_decode(n), "big")
        )
        return kid, numbers.public_key()
    except (ValueError, binascii.Error):
        return None


class KeySet:
    """The webhook signing keys, cached: fetched on first use, again after ``refetch_after_seconds``, and again
    (at most once per 10 s) when a delivery names a ``kid`` the cache does not hold. Thread-safe."""

    def __init__(
        self,
        fetch: Callable[[], dict],
        *,
        refetch_after_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._refetch_after = refetch_after_seconds
        self._clock = clock
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None  # the last successful fetch
        self._attempted_at: float | None = None  # the last fetch, successful or not
        self._last_error: str | None = None  # why the last fetch failed, if it did
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        """Fetch the key set now (lock held). On failure the keys already held are kept."""
        self._attempted_at = self._clock()
        try:
            document = self._fetch()
            entries = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(entries, list):
                raise ValueError("the key set has no 'keys' list")
        except Exception as exc:  # any failure of the fetch: network, HTTP status, JSON
            self._last_error = f"{type(exc).__name__}: {exc}"
            return
        keys: dict[str, RSAPublicKey] = {}
        for entry in entries:
            found = _public_key_of(entry)
            if found is not None:
                keys[found[0]] = found[1]
        self._keys = keys
        self._fetched_at = self._attempted_at
        self._last_error = None

    def key(self, kid: str) -> RSAPublicKey:
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self._refetch_after
            may_fetch = self._attempted_at is None or now - self._attempted_at >= MIN_REFETCH_SECONDS
            if may_fetch and (stale or kid not in self._keys):
                self._refresh()
            if kid in self._keys:
                return self._keys[kid]
            if self._last_error is not None:
                raise WebhookSignatureError(
                    "keys_unavailable", f"The webhook signing keys could not be fetched ({self._last_error})."
                )
            if self._fetched_at is None:  # never fetched and not allowed to try again yet
                raise WebhookSignatureError("keys_unavailable", "The webhook signing keys are not available yet.")
            raise WebhookSignatureError(
                "unknown_key", f"The key id {kid!r} of the signature matches no active signing key."
            )


def fetch_keys_over_http(
    url: str, *, transport: httpx.BaseTransport | None = None, timeout: float = 10.0
) -> Callable[[], dict]:
    """A fetch function for KeySet: GET ``url`` and return its JSON (raises on a network error or non-2xx)."""

    def fetch() -> dict:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            response = client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        if not isinstance(document, dict):
            raise ValueError("the key set is not a JSON object")
        return document

    return fetch


def _json_segment(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64url_decode(segment))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise WebhookSignatureError("malformed", f"The signature's {what} is not base64url-encoded JSON.") from exc
    if not isinstance(value, dict):
        raise WebhookSignatureError("malformed", f"The signature's {what} is not a JSON object.")
    return value


def _number(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WebhookSignatureError("malformed", f"The signature has no numeric '{name}' claim.")
    return int(value)


def verify_webhook(
    body: bytes,
    signature: str | None,
    *,
    keys: KeySet,
    audience: str,
    issuer: str = ISSUER,
    now: float | None = None,
    leeway: int = 30,
) -> WebhookClaims:
    """Check the ``Signature`` header of one delivery against its raw body; the claims if it holds, else
    WebhookSignatureError. ``now`` is Unix seconds (default: the system clock)."""
    if not signature or not signature.strip():
        raise WebhookSignatureError("malformed", "The request has no Signature header.")
    parts = signature.strip().split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise WebhookSignatureError(
            "malformed", "The Signature header is not a compact JWT (three dot-separated parts)."
        )
    header = _json_segment(parts[0], "header")
    if header.get("alg") != ALGORITHM:
        raise WebhookSignatureError(
            "algorithm", f"The signature uses algorithm {header.get('alg')!r}; only {ALGORITHM} is accepted."
        )
    if "crit" in header:
        raise WebhookSignatureError("malformed", "The signature's header has critical extensions we do not know.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise WebhookSignatureError("malformed", "The signature's header names no key id (kid).")
    try:
        signature_bytes = _b64url_decode(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise WebhookSignatureError("malformed", "The signature part of the JWT is not base64url.") from exc
    if not signature_bytes:
        raise WebhookSignatureError("signature", "The JWT carries no signature.")
    public_key = keys.key(kid)
    try:
        public_key.verify(
            signature_bytes, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(), hashes.SHA512()
        )
    except InvalidSignature as exc:
        raise WebhookSignatureError("signature", "The signature does not verify with the signing key.") from exc

    claims = _json_segment(parts[1], "claims")
    if claims.get("iss") != issuer:
        raise WebhookSignatureError("issuer", f"The signature's issuer {claims.get('iss')!r} is not {issuer!r}.")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if audience not in [a for a in audiences if isinstance(a, str)]:
        raise WebhookSignatureError("audience", f"The signature is meant for {aud!r}, not for {audience!r}.")
    exp, iat = _number(claims, "exp"), _number(claims, "iat")
    current = time.time() if now is None else now
    if current > exp + leeway:
        raise WebhookSignatureError("expired", f"The signature expired at {exp} (now {int(current)}).")
    if iat > current + leeway:
        raise WebhookSignatureError("not_yet_valid", f"The signature was issued in the future ({iat}).")
    if "nbf" in claims and _number(claims, "nbf") > current + leeway:
        raise WebhookSignatureError("not_yet_valid", "The signature is not valid yet (nbf).")
    jti, digest = claims.get("jti"), claims.get("digest")
    if not isinstance(jti, str) or not isinstance(digest, str):
        raise WebhookSignatureError("malformed", "The signature lacks its 'jti' or 'digest' claim.")
    if not hmac.compare_digest(body_digest(body).encode("ascii"), digest.encode("utf-8")):
        raise WebhookSignatureError("digest", "The body does not match the signature's digest: it was altered.")
    return WebhookClaims(
        kid=kid,
        iss=claims["iss"],
        aud=tuple(aud) if isinstance(aud, list) else aud,
        iat=iat,
        exp=exp,
        jti=jti,
        digest=digest,
    )


def sign_webhook(
    body: bytes,
    private_key: RSAPrivateKey,
    *,
    kid: str,
    audience: str,
    issuer: str = ISSUER,
    iat: int | None = None,
    lifetime: int = 60,
    jti: str | None = None,
) -> str:
    """The ``Signature`` header value of a delivery of ``body``, signed as Ponto Connect signs (for the stand-in)."""
    issued = int(time.time()) if iat is None else iat
    header = {"alg": ALGORITHM, "kid": kid}
    claims = {
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": jti or str(uuid.uuid4()),
        "digest": body_digest(body),
    }
    segments = [_b64url_encode(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)]
    signing_input = ".".join(segments).encode("ascii")
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA512())
    return f"{segments[0]}.{segments[1]}.{_b64url_encode(signature)}"


def jwk_of(public_key: RSAPublicKey, kid: str) -> dict[str, str]:
    """The JWKS entry of a signing key, as ``/webhooks/keys`` lists it."""
    numbers = public_key.public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
        "n": _int_to_b64url(numbers.n),
        "e": _int_to_b64url(numbers.e),
        "status": "ACTIVE",
    }
