"""OCPP security profile 2: TLS with a password, from a certificate the user gives."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
import ipaddress
from pathlib import Path
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.v16 import call
import pytest
from websockets.asyncio.client import connect

from custom_components.gridnode.drivers.ocpp import ChargePointConfig
from custom_components.gridnode.drivers.ocpp.tls import server_context

from .conftest import FakeCharger16, wait_for

SECRET = "Zq8rT2vLm9XwP4kN7bHd"


def make_certificate(folder: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gridnode.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "ocpp.crt", folder / "ocpp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def client_context(cert_file: str) -> ssl.SSLContext:
    """What a charge point trusts: the central system's certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cert_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


async def test_a_charge_point_connects_over_tls_with_its_password(start_central, tmp_path) -> None:
    cert_file, key_file = make_certificate(tmp_path)
    central = await start_central(
        charge_points={"CP_1": ChargePointConfig(password=SECRET)},
        ssl=server_context(cert_file, key_file),
    )
    token = base64.b64encode(f"CP_1:{SECRET}".encode()).decode()
    connection = await connect(
        f"wss://127.0.0.1:{central.port}/CP_1",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Basic {token}"},
        ssl=client_context(cert_file),
    )
    charger = FakeCharger16("CP_1", connection)
    task = asyncio.create_task(charger.start())
    await charger.call(call.Heartbeat())
    await wait_for(lambda: central.get("CP_1").connected)
    await central.get("CP_1").set_current_limit(8)
    assert len(charger.profiles) == 1
    await connection.close()
    task.cancel()


async def test_plain_websockets_are_not_served_when_tls_is_on(start_central, tmp_path) -> None:
    cert_file, key_file = make_certificate(tmp_path)
    central = await start_central(
        charge_points={"CP_1": ChargePointConfig(password=SECRET)},
        ssl=server_context(cert_file, key_file),
    )
    with pytest.raises(Exception):  # noqa: B017 - whatever the failed handshake raises
        await connect(f"ws://127.0.0.1:{central.port}/CP_1", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    assert not central.get("CP_1").connected


@pytest.mark.parametrize("broken", ["missing", "not_pem", "other_key"])
def test_unusable_certificates_are_refused(tmp_path, broken) -> None:
    cert_file, key_file = make_certificate(tmp_path)
    if broken == "missing":
        key_file = str(tmp_path / "nowhere.key")
    elif broken == "not_pem":
        Path(cert_file).write_text("hello")
    else:
        other = tmp_path / "other"
        other.mkdir()
        key_file = make_certificate(other)[1]
    with pytest.raises((OSError, ValueError)):
        server_context(cert_file, key_file)
