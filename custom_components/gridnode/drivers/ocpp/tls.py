"""TLS for the central system (OCPP security profile 2: TLS with a password)."""

from __future__ import annotations

import ssl


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A TLS server context from a PEM certificate (chain) and its private key.

    TLS 1.2 is the least OCPP's security profiles allow. This reads files: call it off the
    event loop. Raises OSError for a missing file and ``ssl.SSLError`` for one that is no
    certificate or key, or a key that does not match.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


__all__ = ["server_context"]
