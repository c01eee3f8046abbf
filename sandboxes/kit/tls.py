"""A self-signed certificate for 127.0.0.1 and localhost, so a sandbox can answer ``https://``.

Made once per process (RSA 2048, valid 30 days) in a private temporary folder. Clients trust it by
``verify=<ca_file>`` (requests) — never by turning verification off.
"""

from __future__ import annotations

import ipaddress
import ssl
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from leadsync.tls import trust_ca

__all__ = ["TlsFiles", "self_signed", "server_context", "trusting_session"]

_lock = threading.Lock()
_cached: TlsFiles | None = None


@dataclass(frozen=True)
class TlsFiles:
    cert: str  # PEM certificate; also the CA file clients trust
    key: str  # PEM private key


def self_signed() -> TlsFiles:
    """The process's sandbox certificate (created on first use)."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = _make()
        return _cached


def server_context(files: TlsFiles | None = None) -> ssl.SSLContext:
    files = files or self_signed()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(files.cert, files.key)
    return ctx


def _make() -> TlsFiles:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leadsync sandbox 127.0.0.1")])
    now = datetime.now(UTC)
    san = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="sandbox-tls-"))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return TlsFiles(str(cert_path), str(key_path))


def trusting_session(https_url: str, files: TlsFiles | None = None) -> requests.Session:
    """A ``requests.Session`` that trusts the sandbox's certificate for ``https_url`` only."""
    return trust_ca(requests.Session(), (files or self_signed()).cert, https_url)
