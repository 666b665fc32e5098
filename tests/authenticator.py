"""A software WebAuthn authenticator for API tests: real P-256 keys, real CBOR, real signatures.

It answers the options the server sends as a platform authenticator with user
verification would, in the JSON shape browsers give (`PublicKeyCredential.toJSON()`),
so py_webauthn verifies its answers exactly as it verifies a browser's. Chromium
tests use Chromium's own virtual authenticator instead (tests/browser).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

UP, UV, AT = 0x01, 0x04, 0x40


@dataclass
class Credential:
    credential_id: bytes
    rp_id: str
    user_handle: bytes
    key: ec.EllipticCurvePrivateKey
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str
    credentials: list[Credential] = field(default_factory=list)

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.create() with these options: a new resident credential."""
        rp_id = options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        credential = Credential(
            secrets.token_bytes(32),
            rp_id,
            base64url_to_bytes(options["user"]["id"]),
            key,
        )
        self.credentials.append(credential)
        numbers = key.public_key().public_numbers()
        cose_key = {
            1: 2,
            3: -7,
            -1: 1,
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
        attested = (
            bytes(16)
            + len(credential.credential_id).to_bytes(2, "big")
            + credential.credential_id
            + encode_cbor(cose_key)
        )
        auth_data = self._auth_data(credential, UP | UV | AT) + attested
        client_data = self._client_data("webauthn.create", options["challenge"])
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": bytes_to_base64url(credential.credential_id),
            "rawId": bytes_to_base64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self, options: dict[str, Any], credential: Credential | None = None
    ) -> dict[str, Any]:
        """navigator.credentials.get(): an assertion by `credential`, or the first one the options allow."""
        allowed = {
            base64url_to_bytes(c["id"]) for c in options.get("allowCredentials", [])
        }
        if credential is None:
            credential = next(
                c
                for c in self.credentials
                if c.rp_id == options["rpId"]
                and (not allowed or c.credential_id in allowed)
            )
        credential.sign_count += 1
        auth_data = self._auth_data(credential, UP | UV)
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": bytes_to_base64url(credential.credential_id),
            "rawId": bytes_to_base64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(credential.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def _auth_data(self, credential: Credential, flags: int) -> bytes:
        rp_hash = hashlib.sha256(credential.rp_id.encode()).digest()
        return rp_hash + bytes([flags]) + credential.sign_count.to_bytes(4, "big")

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": self.origin,
                "crossOrigin": False,
            }
        ).encode()
