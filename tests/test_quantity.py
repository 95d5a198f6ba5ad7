from __future__ import annotations

from decimal import Decimal

import pytest

from oomguard.policies.quantity import QuantityError, format_bytes, parse_quantity


@pytest.mark.parametrize("text,expected", [
    ("1Gi", 1 << 30), ("512Mi", 512 << 20), ("1Ki", 1024), ("2Ei", 2 << 60),
    ("1k", 1000), ("1M", 10**6), ("1G", 10**9), ("1T", 10**12), ("1P", 10**15), ("1E", 10**18),
    ("512m", Decimal("0.512")), ("1u", Decimal("0.000001")), ("5n", Decimal("5E-9")),
    ("1e3", 1000), ("1E3", 1000), ("1e+3", 1000), ("1e-3", Decimal("0.001")),
    ("1.5Gi", Decimal(3 << 29)), (".5Gi", Decimal(1 << 29)), ("5.", 5), ("+1Mi", 1 << 20),
    ("-1Mi", -(1 << 20)), ("0", 0), ("007", 7), (1073741824, 1 << 30), (0.5, Decimal("0.5")),
])
def test_valid(text: object, expected: object) -> None:
    assert parse_quantity(text) == Decimal(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [
    "1K", "1 Gi", "1e3Mi", "1GB", "1gi", "1ki", "", " 1Gi", "1Gi ", ".", "1.5.5", "1e",
    "1e3.5", "1e++3", "Gi", "1Mi1", "0x10", "1_000", True, None, [1],
])
def test_rejected_like_the_api_server(text: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_laxer_than_the_python_client() -> None:
    """kubernetes.utils.parse_quantity accepts these; the API server does not."""
    for text in ("1K", "1e3Mi"):
        with pytest.raises(QuantityError):
            parse_quantity(text)


def test_format_bytes() -> None:
    assert format_bytes(256 << 20) == "256Mi"
    assert format_bytes(3 << 30) == "3Gi"
    assert format_bytes(1000) == "1000"
