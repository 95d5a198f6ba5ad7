"""A CA made in the test, server certificates it signs, and what a client sees of them."""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path

import trustme


def write_cert(ca: trustme.CA, cert_file: Path, key_file: Path) -> trustme.LeafCert:
    """Issue a new certificate for 127.0.0.1 and swap it in as a pair (key first, as a
    Secret volume's atomic update delivers both at once)."""
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    tmp_cert, tmp_key = cert_file.with_suffix(".tmp1"), key_file.with_suffix(".tmp2")
    leaf.cert_chain_pems[0].write_to_path(str(tmp_cert))
    leaf.private_key_pem.write_to_path(str(tmp_key))
    os.replace(tmp_key, key_file)
    os.replace(tmp_cert, cert_file)
    return leaf


def make_ca(directory: Path) -> tuple[trustme.CA, Path, Path, Path]:
    """A CA (its PEM at ca.pem) and a server pair at tls.crt/tls.key."""
    ca = trustme.CA()
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "tls.crt", directory / "tls.key"
    ca.cert_pem.write_to_path(str(ca_file))
    write_cert(ca, cert_file, key_file)
    return ca, ca_file, cert_file, key_file


def client_context(ca_file: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file))


def served_serial(port: int, ca_file: Path, host: str = "127.0.0.1") -> int:
    """The serial number of the certificate a new TLS connection is served."""
    from cryptography import x509

    with socket.create_connection((host, port), timeout=5) as raw, \
            client_context(ca_file).wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return int(x509.load_der_x509_certificate(der).serial_number)
