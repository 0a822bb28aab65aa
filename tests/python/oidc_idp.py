"""A test OpenID Connect identity provider for Tessera's web-identity tests.

``TestIdP`` runs in-process on 127.0.0.1 (a ``ThreadingHTTPServer`` on a
daemon thread), over HTTPS with a certificate from a ``TestCA`` or over plain
HTTP.  It serves what a relying party needs to verify an ID token:

* ``<issuer>/.well-known/openid-configuration``: ``issuer`` and ``jwks_uri``
  (plus the members OpenID Connect Discovery 1.0 requires);
* ``<issuer>/keys``: the JWKS of the keys currently published.

The issuer is ``https://127.0.0.1:<port>`` (or ``http://``), optionally with
a path (``path="/realms/test"``), and is also the Url to register with IAM.

The IdP creates its own signing keys (RSA 2048 for RS256, EC P-256 for ES256,
EC P-384 for ES384), mints tokens with PyJWT (``mint``), crafts the tokens
PyJWT refuses to make (``mint_unsigned``, ``mint_hmac``), rotates and adds
keys, counts the discovery and JWKS requests it gets, sets a Cache-Control
header on the JWKS when asked, and can go down in two ways: ``down =
True`` answers every request with 503, ``close()`` closes the listener
(connection refused).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional, Union

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ALGORITHMS = ("RS256", "ES256", "ES384")
_EC_CURVES = {"ES256": (ec.SECP256R1, "P-256", 32), "ES384": (ec.SECP384R1, "P-384", 48)}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64url_json(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _uint(value: int, length: Optional[int] = None) -> bytes:
    if length is None:
        length = max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


def compact_jws(header: dict, payload: Union[dict, bytes], signature: bytes = b"") -> str:
    """A JWS in compact serialization: ``b64(header).b64(payload).b64(signature)``."""
    body = payload if isinstance(payload, bytes) else json.dumps(
        payload, separators=(",", ":")).encode()
    return f"{b64url_json(header)}.{b64url(body)}.{b64url(signature)}"


# ---------------------------------------------------------------------------
# a test certificate authority
# ---------------------------------------------------------------------------


class TestCA:
    """A self-signed CA (EC P-256) whose PEM is written to ``<directory>/ca.pem``;
    ``issue_server_cert`` makes a server certificate for an IP address."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, name: str = "Tessera test CA"):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} {uuid.uuid4().hex[:8]}")])
        now = dt.datetime.now(dt.timezone.utc)
        public = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.pem_path = self.directory / "ca.pem"
        self.pem_path.write_bytes(self.pem)

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the CA certificate (DER), lower-case hex: what IAM calls the
        thumbprint of the top certificate of the IdP's chain."""
        return hashlib.sha1(self.cert.public_bytes(serialization.Encoding.DER)).hexdigest()

    def issue_server_cert(self, ip: str = "127.0.0.1") -> tuple[Path, Path]:
        """Write a server certificate for ``ip`` (IP SAN) and its key; returns
        (chain path: leaf then CA, key path)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        ca_public = self.key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        stem = f"server-{uuid.uuid4().hex[:8]}"
        chain_path = self.directory / f"{stem}.pem"
        key_path = self.directory / f"{stem}.key"
        chain_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + self.pem)
        key_path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        key_path.chmod(0o600)
        return chain_path, key_path


# ---------------------------------------------------------------------------
# signing keys
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class SigningKey:
    kid: str
    alg: str
    private_key: object

    @classmethod
    def generate(cls, alg: str = "RS256", kid: Optional[str] = None) -> "SigningKey":
        if alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg in _EC_CURVES:
            private = ec.generate_private_key(_EC_CURVES[alg][0]())
        else:
            raise ValueError(f"unsupported algorithm {alg}")
        return cls(kid or f"{alg.lower()}-{uuid.uuid4().hex[:12]}", alg, private)

    @property
    def public_key(self):
        return self.private_key.public_key()

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwk(self) -> dict:
        """The public JWK (RFC 7517/7518) of this key."""
        numbers = self.public_key.public_numbers()
        if self.alg == "RS256":
            return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": self.alg,
                    "n": b64url(_uint(numbers.n)), "e": b64url(_uint(numbers.e))}
        _, crv, size = _EC_CURVES[self.alg]
        return {"kty": "EC", "kid": self.kid, "use": "sig", "alg": self.alg, "crv": crv,
                "x": b64url(_uint(numbers.x, size)), "y": b64url(_uint(numbers.y, size))}


# ---------------------------------------------------------------------------
# the identity provider
# ---------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = "TestIdP/1.0"
    protocol_version = "HTTP/1.0"  # one request per connection: close() leaves nothing open

    def do_GET(self):  # noqa: N802  (http.server's naming)
        idp: TestIdP = self.server.idp
        path = self.path.split("?", 1)[0]
        kind = idp._record(path)
        if idp.down:
            self._reply(503, {"error": "temporarily unavailable"}, {"Retry-After": "1"})
        elif kind == "discovery":
            self._reply(200, idp.discovery_document())
        elif kind == "jwks":
            extra = {"Cache-Control": idp.cache_control} if idp.cache_control else {}
            self._reply(200, idp.jwks(), extra)
        else:
            self._reply(404, {"error": "not found"})

    def _reply(self, status: int, document: dict, headers: Optional[dict] = None) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002  keep pytest output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, idp: "TestIdP", ssl_context: Optional[ssl.SSLContext]):
        self.idp = idp
        self.ssl_context = ssl_context
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request_thread(self, request, client_address):
        # The TLS handshake runs here, on the connection's own thread, so that a
        # client that rejects our certificate cannot stall the accept loop.
        if self.ssl_context is not None:
            try:
                request.settimeout(10)
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                self.idp._tls_failure()
                with contextlib.suppress(OSError):
                    request.close()
                return
        super().process_request_thread(request, client_address)

    def handle_error(self, request, client_address):
        pass  # a client hanging up early is not our problem


class TestIdP:
    """An OpenID Connect IdP on 127.0.0.1 (see the module docstring).

    ``TestIdP(ca=TestCA(...))`` serves HTTPS, ``TestIdP()`` plain HTTP.  It
    starts with one key per algorithm in ``algorithms``; the first is the
    default signing key.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, *, ca: Optional[TestCA] = None, path: str = "",
                 algorithms: tuple = ("RS256",)):
        assert path == "" or (path.startswith("/") and not path.endswith("/")), path
        self.path = path
        self.ca = ca
        self.down = False
        self.cache_control: Optional[str] = None
        self.requests: list[str] = []
        self.discovery_fetches = 0
        self.jwks_fetches = 0
        self.tls_failures = 0
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []  # published, in JWKS order
        self._all_keys: dict[str, SigningKey] = {}
        self.default_kid: Optional[str] = None
        for alg in algorithms:
            self.add_key(alg)

        context = None
        if ca is not None:
            chain, key = ca.issue_server_cert("127.0.0.1")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(chain, key)
        self._httpd = _Server(self, context)
        self.port = self._httpd.server_address[1]
        self.closed = False
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"test-idp-{self.port}", daemon=True)
        self._thread.start()

    # -- addresses ----------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if self.ca is not None else "http"

    @property
    def issuer(self) -> str:
        """The ``iss`` of its tokens; also the Url to register with IAM."""
        return f"{self.scheme}://127.0.0.1:{self.port}{self.path}"

    @property
    def host_path(self) -> str:
        """The issuer without its scheme: the IAM provider's name, as in its ARN
        and in the condition keys ``<host_path>:sub`` / ``<host_path>:aud``."""
        return f"127.0.0.1:{self.port}{self.path}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/keys"

    def provider_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:oidc-provider/{self.host_path}"

    # -- HTTP side ------------------------------------------------------------
    def _record(self, path: str) -> Optional[str]:
        with self._lock:
            self.requests.append(path)
            if path == f"{self.path}/.well-known/openid-configuration":
                self.discovery_fetches += 1
                return "discovery"
            if path == f"{self.path}/keys":
                self.jwks_fetches += 1
                return "jwks"
        return None

    def _tls_failure(self) -> None:
        with self._lock:
            self.tls_failures += 1

    def discovery_document(self) -> dict:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": sorted({k.alg for k in self._keys}),
        }

    def jwks(self) -> dict:
        with self._lock:
            return {"keys": [k.jwk() for k in self._keys]}

    def close(self) -> None:
        """Stop serving and close the listening socket: connections are refused."""
        if not self.closed:
            self.closed = True
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)

    def __enter__(self) -> "TestIdP":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- keys -----------------------------------------------------------------
    def add_key(self, alg: str = "RS256", *, kid: Optional[str] = None,
                publish: bool = True) -> SigningKey:
        """Create a key; ``publish`` puts it in the JWKS.  The first key added
        becomes the default signing key."""
        key = SigningKey.generate(alg, kid)
        with self._lock:
            self._all_keys[key.kid] = key
            if publish:
                self._keys.append(key)
            if self.default_kid is None and publish:
                self.default_kid = key.kid
        return key

    def remove_key(self, kid: str) -> None:
        with self._lock:
            self._keys = [k for k in self._keys if k.kid != kid]

    def rotate(self, alg: Optional[str] = None) -> str:
        """Replace the default key in the JWKS by a new key with a new kid (same
        algorithm unless ``alg``); the new key becomes the default.  Returns its kid."""
        old = self.key()
        new = SigningKey.generate(alg or old.alg)
        with self._lock:
            self._all_keys[new.kid] = new
            self._keys = [new if k.kid == old.kid else k for k in self._keys]
            self.default_kid = new.kid
        return new.kid

    def key(self, kid: Optional[str] = None) -> SigningKey:
        return self._all_keys[kid or self.default_kid]

    def key_for(self, alg: str) -> SigningKey:
        """The first published key of algorithm ``alg``."""
        for key in self._keys:
            if key.alg == alg:
                return key
        raise KeyError(f"no published {alg} key")

    @property
    def published_kids(self) -> list[str]:
        return [k.kid for k in self._keys]

    def public_pem(self, kid: Optional[str] = None) -> bytes:
        return self.key(kid).public_pem()

    # -- tokens ---------------------------------------------------------------
    def claims(self, *, aud: Union[str, list, None] = "tessera-test", sub: str = "user-1",
               lifetime: int = 3600, **extra) -> dict:
        """Claims of a valid ID token from this IdP (iss, sub, aud, iat, exp),
        updated with ``extra``; an ``extra`` value of None removes that claim."""
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": sub, "aud": aud, "iat": now,
                  "exp": now + lifetime}
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(self, claims: Optional[dict] = None, *, kid: Optional[str] = None,
             alg: Optional[str] = None, headers: Optional[dict] = None,
             key: Optional[SigningKey] = None) -> str:
        """Sign ``claims`` (default: ``self.claims()``) with PyJWT.

        The signing key is ``key``, else the key ``kid`` names, else the
        default key; the header's ``kid`` is ``kid`` when given (even if it
        names another key), else the signing key's; ``alg`` defaults to the
        signing key's algorithm; ``headers`` adds or overrides header members.
        """
        signer = key or self.key(kid)
        header = {"kid": kid or signer.kid}
        header.update(headers or {})
        return jwt.encode(self.claims() if claims is None else claims, signer.private_key,
                          algorithm=alg or signer.alg, headers=header)

    def mint_unsigned(self, claims: Optional[dict] = None, *,
                      headers: Optional[dict] = None) -> str:
        """An ``alg: none`` token (empty signature), with the default key's kid."""
        header = {"alg": "none", "typ": "JWT", "kid": self.default_kid, **(headers or {})}
        return compact_jws(header, self.claims() if claims is None else claims)

    def mint_hmac(self, secret: bytes, claims: Optional[dict] = None, *,
                  kid: Optional[str] = None, alg: str = "HS256") -> str:
        """A token MACed with ``secret`` (e.g. a public key's PEM: the algorithm
        confusion attack); the header names ``kid`` (default: the default key)."""
        header = {"alg": alg, "typ": "JWT", "kid": kid or self.default_kid}
        payload = json.dumps(self.claims() if claims is None else claims,
                             separators=(",", ":")).encode()
        signing_input = f"{b64url_json(header)}.{b64url(payload)}".encode()
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
                  "HS512": hashlib.sha512}[alg]
        signature = hmac.new(secret, signing_input, digest).digest()
        return compact_jws(header, payload, signature)


def replace_payload(token: str, claims: dict) -> str:
    """``token`` with its payload replaced by ``claims``, header and signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{b64url_json(claims)}.{signature}"
