"""Kubernetes resource quantities, parsed exactly as the API server parses them.

The grammar and the acceptance rules follow ``parseQuantityString`` and ``ParseQuantity`` in
k8s.io/apimachinery/pkg/api/resource/quantity.go and the suffixes of suffix.go.
``kubernetes.utils.parse_quantity`` is laxer (it takes ``1K``, ``1 Gi``, ``1e3Mi``), so it is
not used. Values are exact :class:`~decimal.Decimal` numbers of base units (bytes, cores).
"""

from __future__ import annotations

import re
from decimal import MAX_EMAX, MIN_EMIN, ROUND_CEILING, ROUND_UP, Context, Decimal, InvalidOperation
from functools import lru_cache

__all__ = ["QuantityError", "MAX_QUANTITY", "parse_quantity", "split_quantity", "format_bytes",
           "human", "quantity_text"]

# suffix.go: decimal SI (10^3n), binary SI (2^10n).
_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SI = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


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


# parseQuantityString's scan as one pattern: sign, digits, "." digits, suffix letters, sign,
# digits. Possessive quantifiers (no backtracking) keep a megabyte of digits linear.
_QUANTITY = re.compile(r"([+-]?+[0-9]*+(?:\.[0-9]*+)?+)([eEinumkKMGTP]*+[+-]?+[0-9]*+)")
_GRAMMAR_ERROR = ("quantities must match the regular expression "
                  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
CACHED_TEXT = 64  # longer texts are parsed but not cached: the caches must not hold megabytes

# quantity.go caps a parsed value at maxAllowed (math.go: 2^63-1, max int64). It does so for
# binary suffixes; a decimal one keeps its inf.Dec, but every accessor the kubelet and the
# scheduler read (Value, MilliValue, ScaledValue) is an int64 that cannot hold more, so the
# same cap serves both. Capping here, before any arithmetic or int(), keeps "5e999999" as
# cheap as "1Gi" (decimal.Decimal would otherwise build a million-digit integer).
MAX_QUANTITY = Decimal((1 << 63) - 1)
_NANO, _ONE = Decimal("1e-9"), Decimal(1)
_ROUND_UP = Context(prec=48, rounding=ROUND_UP, Emax=MAX_EMAX, Emin=MIN_EMIN)


def split_quantity(text: str) -> tuple[str, str]:
    """Split into (number, suffix) as parseQuantityString does, or raise QuantityError."""
    return _split_cached(text) if len(text) <= CACHED_TEXT else _split(text)


@lru_cache(maxsize=4096)  # OOM106 asks again for every quantity
def _split_cached(text: str) -> tuple[str, str]:
    return _split(text)


def _split(text: str) -> tuple[str, str]:
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise QuantityError(_GRAMMAR_ERROR)
    return match.group(1), match.group(2)


def parse_quantity(raw: object) -> Decimal:
    """Parse a quantity to an exact Decimal of base units; raise QuantityError if invalid.

    Like ParseQuantity, a magnitude above 2^63-1 is capped there and a non-zero magnitude
    below one nano unit is rounded up to 1n; every result is at most 2^63-1 in magnitude.
    """
    if type(raw) is not str:
        text = quantity_text(raw)
        if text is None:
            raise QuantityError(
                f"a quantity must be a string or a number, not {type(raw).__name__}")
        raw = text
    if len(raw) <= CACHED_TEXT:
        return _parse_cached(raw)
    return _parse_text(raw)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Decimal:
    """The same few quantities ("128Mi", "1Gi") recur in every manifest: parse each once.
    Decimal is immutable, so sharing the results is safe across threads."""
    return _parse_text(text)


def _decimal_exponent(exponent: str) -> int:
    """The exponent of an ``e``/``E`` suffix as suffix.go's interpret reads it:
    strconv.ParseInt(..., 10, 64), then int32(parsed) (it wraps, as Go's conversion does)."""
    body = exponent.lstrip("+-")
    if not body or not body.isdigit() or len(exponent) - len(body) > 1:
        raise QuantityError("unable to parse quantity's suffix")
    digits = body.lstrip("0")
    if len(digits) > 19:  # past int64 before int() could be asked for a long number
        raise QuantityError("unable to parse quantity's suffix")
    value = -int(digits or "0") if exponent[0] == "-" else int(digits or "0")
    if not -(1 << 63) <= value < 1 << 63:
        raise QuantityError("unable to parse quantity's suffix")
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


def _parse_text(text: str) -> Decimal:
    if not text:
        raise QuantityError("a quantity cannot be empty")
    number, suffix = split_quantity(text)
    digits = number.lstrip("+-")
    if digits in ("", "."):
        # parseQuantityString returns "0" when only a sign and zeros remain ("+", "-0").
        if number in ("+", "-"):
            return Decimal(0)
        raise QuantityError("unable to parse quantity's number")
    binary = 0
    if suffix in _BINARY_SI:
        binary, exponent = _BINARY_SI[suffix], 0
    elif suffix in _DECIMAL_SI:
        exponent = _DECIMAL_SI[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE":
        exponent = _decimal_exponent(suffix[1:])
    else:
        raise QuantityError(f"unable to parse quantity's suffix {suffix!r}")
    try:
        value = Decimal(number)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
        raise QuantityError("unable to parse quantity's number") from exc
    if not value:
        return Decimal(0)
    # the magnitude first, from the exponents alone: 10^magnitude <= |value| < 10^(magnitude+1)
    magnitude = value.adjusted() + exponent
    if magnitude >= 19:  # >= 10^19 > 2^63-1, and a binary suffix only makes it larger
        return MAX_QUANTITY.copy_sign(value)
    if magnitude < -10:  # below 10^-10: rounded up to one nano unit
        return _NANO.copy_sign(value)
    # exact below the cap; rounding up (away from zero) at 48 digits then at the nano unit
    # is the one rounding up to the nano unit that ParseQuantity does
    amount = _ROUND_UP.scaleb(value, exponent)
    if binary:
        amount = _ROUND_UP.multiply(amount, 1 << binary)
    places = amount.as_tuple().exponent
    if places < -9:  # type: ignore[operator]
        amount = amount.quantize(_NANO, context=_ROUND_UP)
    elif places > 0:  # type: ignore[operator]  # 1E+3 is written 1000, as before
        amount = amount.quantize(_ONE, context=_ROUND_UP)
    return MAX_QUANTITY.copy_sign(amount) if abs(amount) > MAX_QUANTITY else amount


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
