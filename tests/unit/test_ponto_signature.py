"""Ponto Connect webhook signatures (app.ponto.signature): a compact JWT, RS512, kid in the header, iss/aud/iat/
exp/jti and a SHA-512 digest of the body, keys from a cached JWKS (../shared/ponto-api.md, section 5)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.ponto.signature import (
    ISSUER,
    KeySet,
    WebhookSignatureError,
    body_digest,
    fetch_keys_over_http,
    jwk_of,
    sign_webhook,
    verify_webhook,
)

pytestmark = pytest.mark.timeout(30)

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "sandbox_events_signature_1"
APP_ID = "8d4a5b4e-0000-4000-8000-00000000a001"
BODY = b'{"data":{"type":"pontoConnect.account.transactionsCreated","id":"e1","attributes":{"count":2}}}'


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(header: dict, claims: dict, signature: bytes = b"") -> str:
    head = _b64url(json.dumps(header).encode())
    body = _b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64url(signature)}"


def _rs512(header: dict, claims: dict) -> str:
    """A token signed with our key, whatever its claims."""
    unsigned = _jwt(header, claims).rsplit(".", 1)[0]
    return unsigned + "." + _b64url(KEY.sign(unsigned.encode(), padding.PKCS1v15(), hashes.SHA512()))


def _claims(**overrides) -> dict:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": APP_ID, "iat": now, "exp": now + 60, "jti": "j1", "digest": body_digest(BODY)}
    claims.update(overrides)
    return claims


class Source:
    """A JWKS endpoint double: counts fetches, can fail, and its key list can change (rotation)."""

    def __init__(self, *keys: dict) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.fail = False

    def __call__(self) -> dict:
        self.fetches += 1
        if self.fail:
            raise httpx.ConnectError("key endpoint down")
        return {"keys": list(self.keys)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _keys(*jwks: dict) -> KeySet:
    return KeySet(Source(*(jwks or (jwk_of(KEY.public_key(), KID),))))


def _reason(body: bytes, signature: str | None, **kwargs) -> str:
    kwargs.setdefault("keys", _keys())
    kwargs.setdefault("audience", APP_ID)
    with pytest.raises(WebhookSignatureError) as caught:
        verify_webhook(body, signature, **kwargs)
    assert str(caught.value)  # a sentence for the log
    return caught.value.reason


def test_a_signed_body_verifies_and_gives_its_claims() -> None:
    signature = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID, jti="jti-1")
    header = json.loads(base64.urlsafe_b64decode(signature.split(".")[0] + "=="))
    assert header == {"alg": "RS512", "kid": KID}
    claims = verify_webhook(BODY, signature, keys=_keys(), audience=APP_ID)
    assert (claims.kid, claims.iss, claims.aud, claims.jti) == (KID, "https://api.ibanity.com", APP_ID, "jti-1")
    assert claims.exp - claims.iat == 60
    # the digest is standard Base64 (not URL-safe) of the SHA-512 of the raw bytes
    assert claims.digest == base64.b64encode(hashlib.sha512(BODY).digest()).decode()


def test_the_jwk_is_base64url_without_padding_and_padding_is_tolerated_when_read() -> None:
    jwk = jwk_of(KEY.public_key(), KID)
    assert {k: jwk[k] for k in ("kty", "kid", "alg", "use", "status")} == {
        "kty": "RSA",
        "kid": KID,
        "alg": "RS512",
        "use": "sig",
        "status": "ACTIVE",
    }
    assert jwk["e"] == "AQAB" and "=" not in jwk["n"] and "+" not in jwk["n"] and "/" not in jwk["n"]
    padded = dict(jwk, n=jwk["n"] + "=" * (-len(jwk["n"]) % 4))  # the live key set was seen with a trailing "="
    signature = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID)
    assert verify_webhook(BODY, signature, keys=_keys(padded), audience=APP_ID).kid == KID


def test_a_tampered_body_is_refused_on_its_digest() -> None:
    signature = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID)
    assert _reason(BODY.replace(b'"count":2', b'"count":3'), signature) == "digest"
    assert _reason(BODY + b" ", signature) == "digest"  # the exact bytes, not the parsed JSON


def test_the_audience_must_be_our_application_string_or_list() -> None:
    signature = sign_webhook(BODY, KEY, kid=KID, audience="someone-else")
    assert _reason(BODY, signature) == "audience"
    signed = _rs512({"alg": "RS512", "kid": KID}, _claims(aud=["x", APP_ID]))
    assert verify_webhook(BODY, signed, keys=_keys(), audience=APP_ID).aud == ("x", APP_ID)


def test_the_issuer_must_be_ibanity() -> None:
    signature = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID, issuer="https://evil.example")
    assert _reason(BODY, signature) == "issuer"


def test_expiry_and_issue_time_with_a_leeway_of_30_seconds() -> None:
    now = 1_800_000_000
    old = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID, iat=now - 200)  # exp = now - 140
    assert _reason(BODY, old, now=now) == "expired"
    recent = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID, iat=now - 80)  # exp = now - 20: within the leeway
    assert verify_webhook(BODY, recent, keys=_keys(), audience=APP_ID, now=now).iat == now - 80
    assert _reason(BODY, recent, now=now, leeway=0) == "expired"
    future = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID, iat=now + 120)
    assert _reason(BODY, future, now=now) == "not_yet_valid"
    assert verify_webhook(BODY, future, keys=_keys(), audience=APP_ID, now=now + 100).iat == now + 120


def test_alg_none_and_hs512_are_refused_before_any_key_is_used() -> None:
    claims = _claims()
    assert _reason(BODY, _jwt({"alg": "none", "kid": KID}, claims)) == "algorithm"
    assert _reason(BODY, _jwt({"alg": "RS256", "kid": KID}, claims, b"x")) == "algorithm"
    # the classic confusion: HMAC keyed with the public key's bytes
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    unsigned = _jwt({"alg": "HS512", "kid": KID}, claims).rsplit(".", 1)[0]
    forged = unsigned + "." + _b64url(hmac.new(public_pem, unsigned.encode(), hashlib.sha512).digest())
    assert _reason(BODY, forged) == "algorithm"
    # a header without alg at all
    assert _reason(BODY, _jwt({"kid": KID}, claims, b"x")) == "algorithm"


def test_a_bad_signature_is_refused() -> None:
    signature = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID)
    head, claims, sig = signature.split(".")
    flipped = sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB")
    assert _reason(BODY, f"{head}.{claims}.{flipped}") == "signature"
    # signed by another key under our kid
    assert _reason(BODY, sign_webhook(BODY, OTHER_KEY, kid=KID, audience=APP_ID)) == "signature"
    # claims swapped under a valid signature
    other_claims = _b64url(json.dumps(_claims(aud="x")).encode())
    assert _reason(BODY, f"{head}.{other_claims}.{sig}") == "signature"
    assert _reason(BODY, f"{head}.{claims}.") == "signature"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        _b64url(b"[1]") + ".e30.",
        _b64url(b"not json") + ".e30.",
    ],
)
def test_malformed_headers_are_refused(header: str | None) -> None:
    assert _reason(BODY, header) == "malformed"


def test_a_header_without_kid_or_claims_without_jti_is_malformed() -> None:
    assert _reason(BODY, _jwt({"alg": "RS512"}, _claims(), b"x")) == "malformed"
    claims = _claims()
    del claims["exp"]
    assert _reason(BODY, _rs512({"alg": "RS512", "kid": KID}, claims)) == "malformed"
    assert _reason(BODY, _rs512({"alg": "RS512", "kid": KID}, _claims(jti=None))) == "malformed"
    assert _reason(BODY, _rs512({"alg": "RS512", "kid": KID, "crit": ["b64"]}, _claims())) == "malformed"


def test_an_unknown_kid_refetches_the_key_set_at_most_once_per_10_seconds() -> None:
    old_jwk = jwk_of(OTHER_KEY.public_key(), "old")
    source, clock = Source(old_jwk), Clock()
    keys = KeySet(source, clock=clock)
    signature = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID)
    assert _reason(BODY, signature, keys=keys) == "unknown_key"
    assert source.fetches == 1
    clock.now += 3
    assert _reason(BODY, signature, keys=keys) == "unknown_key"  # too soon: no second fetch
    assert source.fetches == 1
    source.keys.append(jwk_of(KEY.public_key(), KID))  # Ibanity rotates its keys
    clock.now += 10
    assert verify_webhook(BODY, signature, keys=keys, audience=APP_ID).kid == KID
    assert source.fetches == 2
    for _ in range(3):  # cached now
        verify_webhook(BODY, signature, keys=keys, audience=APP_ID)
    assert source.fetches == 2
    clock.now += 301  # the cache ages out
    verify_webhook(BODY, signature, keys=keys, audience=APP_ID)
    assert source.fetches == 3


def test_only_active_rs512_signature_keys_are_used() -> None:
    public = KEY.public_key()
    signature = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID)
    for unfit in (
        dict(jwk_of(public, KID), status="INACTIVE"),
        dict(jwk_of(public, KID), use="enc"),
        dict(jwk_of(public, KID), alg="RS256"),
        dict(jwk_of(public, KID), kty="EC"),
        dict(jwk_of(public, KID), n="***"),
    ):
        assert _reason(BODY, signature, keys=_keys(unfit)) == "unknown_key"
    bare = {k: v for k, v in jwk_of(public, KID).items() if k not in ("alg", "status")}  # optional fields
    assert verify_webhook(BODY, signature, keys=_keys(bare), audience=APP_ID).kid == KID


def test_keys_unavailable_when_the_fetch_fails_and_stale_keys_kept_on_a_failed_refresh() -> None:
    source, clock = Source(jwk_of(KEY.public_key(), KID)), Clock()
    source.fail = True
    keys = KeySet(source, clock=clock)
    signature = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID)
    assert _reason(BODY, signature, keys=keys) == "keys_unavailable"
    source.fail = False
    clock.now += 11
    assert verify_webhook(BODY, signature, keys=keys, audience=APP_ID).kid == KID
    source.fail = True
    clock.now += 400  # due for a refresh, which fails: the key we hold still verifies
    assert verify_webhook(BODY, signature, keys=keys, audience=APP_ID).kid == KID
    other = sign_webhook(BODY, OTHER_KEY, kid="new", audience=APP_ID)
    clock.now += 11
    assert _reason(BODY, other, keys=keys) == "keys_unavailable"


def test_fetch_keys_over_http() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/webhooks/keys":
            return httpx.Response(200, json={"keys": [jwk_of(KEY.public_key(), KID)]})
        return httpx.Response(503, json={"errors": []})

    transport = httpx.MockTransport(answer)
    keys = KeySet(fetch_keys_over_http("https://api.ibanity.test/webhooks/keys", transport=transport))
    signature = sign_webhook(BODY, KEY, kid=KID, audience=APP_ID)
    assert verify_webhook(BODY, signature, keys=keys, audience=APP_ID).kid == KID
    assert [r.method for r in seen] == ["GET"]
    broken = KeySet(fetch_keys_over_http("https://api.ibanity.test/down", transport=transport))
    assert _reason(BODY, signature, keys=broken) == "keys_unavailable"
