"""Throw-away TLS material for a local broker: a self-signed CA and a broker certificate.

For tests, the demo and local experiments only, never production. The broker certificate is
valid for ``127.0.0.1`` and ``localhost`` (subject alternative names), so clients can keep
hostname checking on. Files are PEM, which Kafka reads directly (``ssl.keystore.type=PEM``):

- ``ca.pem``: the CA certificate, the clients' trust anchor (``ssl_cafile``);
- ``broker-keystore.pem``: the broker's private key (PKCS#8, unencrypted) followed by its
  certificate chain (broker certificate, then the CA).

``cryptography`` comes with authlib (a dependency of the schema registry client).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TestPki", "make_test_pki"]


@dataclass(frozen=True)
class TestPki:
    """Where the generated files are."""

    __test__ = False  # not a pytest test class, despite the name

    ca_file: Path
    keystore_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "guardrail local test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_certificate(
    ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, now: dt.datetime, until: dt.datetime
) -> x509.Certificate:
    """A self-signed CA certificate that may sign server certificates only."""
    return (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )


def make_test_pki(directory: Path, *, days: int = 7, hosts: tuple[str, ...] = ()) -> TestPki:
    """Write a new CA and a broker key + certificate into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # tolerate small clock skew
    until = now + dt.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("guardrail test CA")
    ca_cert = _ca_certificate(ca_key, ca_name, now, until)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
        *(x509.DNSName(host) for host in hosts),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    keystore = directory / "broker-keystore.pem"
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Owner-only from the start: it holds a private key.
    fd = os.open(keystore, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem + cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    return TestPki(ca_file=ca_file, keystore_file=keystore)
