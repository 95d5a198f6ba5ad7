"""Kubernetes resource quantities, parsed exactly as the API server parses them.

The grammar and the acceptance rules follow ``parseQuantityString`` and ``ParseQuantity`` in
k8s.io/apimachinery/pkg/api/resource/quantity.go and the suffixes of suffix.go.
``kubernetes.utils.parse_quantity`` is laxer (it takes ``1K``, ``1 Gi``, ``1e3Mi``), so it is
not used. Values are exact :class:`~decimal.Decimal` numbers of base units (bytes, cores).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext
from functools import lru_cache

__all__ = ["QuantityError", "parse_quantity", "split_quantity", "format_bytes", "human",
           "quantity_text"]

# suffix.go: decimal SI (10^3n), binary SI (2^10n).
_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SI = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity; the message says why, like the API server."""


def quantity_text(raw: object) -> str | None:
    """The text a JSON/YAML scalar would be unmarshalled from, or None for non-scalars.

    An unquoted number is a valid quantity to the API server (``memory: 1073741824``), a
    boolean or null is not.
    """
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        text = repr(raw)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(raw, str):
        return raw
    return None


@lru_cache(maxsize=4096)  # a character loop, and OOM106 asks again for every quantity
def split_quantity(text: str) -> tuple[str, str]:
    """Split into (number, suffix) as parseQuantityString does, or raise QuantityError."""
    end = len(text)
    pos = 0
    if pos < end and text[0] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end and text[pos] == ".":
        pos += 1
        while pos < end and text[pos] in _DIGITS:
            pos += 1
    number_end = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos != end:
        raise QuantityError("quantities must match the regular expression "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    return text[:number_end], text[number_end:]


def parse_quantity(raw: object) -> Decimal:
    """Parse a quantity to an exact Decimal of base units; raise QuantityError if invalid."""
    if type(raw) is str:
        return _parse_text(raw)
    text = quantity_text(raw)
    if text is None:
        raise QuantityError(f"a quantity must be a string or a number, not {type(raw).__name__}")
    return _parse_text(text)


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> Decimal:
    """The same few quantities ("128Mi", "1Gi") recur in every manifest: parse each once.
    Decimal is immutable, so sharing the results is safe across threads."""
    if not text:
        raise QuantityError("a quantity cannot be empty")
    number, suffix = split_quantity(text)
    digits = number.lstrip("+-")
    if digits in ("", "."):
        # parseQuantityString returns "0" when only a sign and zeros remain ("+", "-0").
        if number in ("+", "-"):
            return Decimal(0)
        raise QuantityError("unable to parse quantity's number")
    if suffix in _BINARY_SI:
        multiplier = Decimal(2) ** _BINARY_SI[suffix]
    elif suffix in _DECIMAL_SI:
        multiplier = Decimal(10) ** _DECIMAL_SI[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE":
        exponent = suffix[1:]
        body = exponent.lstrip("+-")
        if not body or not body.isdigit() or len(exponent) - len(body) > 1:
            raise QuantityError("unable to parse quantity's suffix")
        multiplier = Decimal(10) ** int(exponent)
    else:
        raise QuantityError(f"unable to parse quantity's suffix {suffix!r}")
    try:
        value = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - _split admits only digits
        raise QuantityError("unable to parse quantity's number") from exc
    with localcontext() as ctx:
        ctx.prec = 80
        return value * multiplier


_BINARY_UNITS = (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10))


def format_bytes(value: Decimal | int) -> str:
    """Human text for a byte count: exact binary unit when it divides, else a rounded Mi/Gi."""
    amount = Decimal(value)
    if amount == amount.to_integral_value():
        whole = int(amount)
        for unit, shift in _BINARY_UNITS:
            if whole and whole % (1 << shift) == 0:
                return f"{whole >> shift}{unit}"
        if abs(whole) < 1 << 20:
            return f"{whole}" if abs(whole) < 1024 else f"{whole / 1024:.1f}Ki"
    if abs(amount) >= 1 << 30:
        return f"{float(amount) / (1 << 30):.2f}Gi"
    if abs(amount) >= 1 << 20:
        return f"{float(amount) / (1 << 20):.1f}Mi"
    return f"{amount.normalize():f}"


def human(value: Decimal | int | None) -> str:
    """How messages show a byte count: whole bytes, rounded up as ``Quantity.Value()`` does
    (k8s.io/apimachinery/pkg/api/resource/quantity.go), in :func:`format_bytes` text; ``?``
    when unknown. The one formatter of every rule's message."""
    if value is None:
        return "?"
    amount = Decimal(value)
    whole = amount.to_integral_value(rounding=ROUND_CEILING)
    return format_bytes(whole)
