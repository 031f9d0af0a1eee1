"""The gateway's TLS key and self-signed certificate: made at first start, kept in the cluster (Secret
`linq-gateway-tls` in the gateway's namespace) so every replica serves the same key, the one pinned on chain.

Created with create-if-absent: of two replicas starting together one writes the Secret and both then read
it back. The key never leaves the cluster Secret and the replica's private temp files (mode 0600).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from linq.gateway import kubeapi
from linq.gateway.meta import spki_pin
from linq.kube import Kube

SECRET = "linq-gateway-tls"  # noqa: S105 - the Secret object's name, not a password
VALIDITY_DAYS = 3650  # trust comes from the on-chain pin, not from expiry; rotate by publishing a new pin


def make(hosts: list[str]) -> tuple[bytes, bytes]:
    """(key PEM, certificate PEM): ECDSA P-256, self-signed, SANs for `hosts` (names or IPs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "linq-gateway")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def ensure(api: Kube, namespace: str, hosts: list[str]) -> tuple[bytes, bytes]:
    """The cluster's gateway key and certificate, made now if none exists yet."""
    key_pem, cert_pem = make(hosts)
    kubeapi.create(
        api,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {"name": SECRET, "namespace": namespace},
            "data": {"tls.key": base64.b64encode(key_pem).decode(), "tls.crt": base64.b64encode(cert_pem).decode()},
        },
    )
    secret = kubeapi.get(api, "Secret", SECRET, namespace)
    if secret is None:
        raise RuntimeError(f"secret {namespace}/{SECRET} vanished right after it was created; restart the gateway")
    data = secret["data"]
    return base64.b64decode(data["tls.key"]), base64.b64decode(data["tls.crt"])


def write_files(key_pem: bytes, cert_pem: bytes) -> tuple[Path, Path, Path]:
    """(dir, key file, cert file) in a private temp directory for the TLS server to load."""
    folder = Path(tempfile.mkdtemp(prefix="linq-gateway-tls-"))
    os.chmod(folder, 0o700)
    key_file, cert_file = folder / "tls.key", folder / "tls.crt"
    for path, data in ((key_file, key_pem), (cert_file, cert_pem)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    return folder, key_file, cert_file


__all__ = ["SECRET", "ensure", "make", "spki_pin", "write_files"]
