"""Kubernetes' CEL quantity library for cel-expr-python (Google's CEL, C++ runtime).

It follows k8s.io/apiserver/pkg/cel/library/quantity.go (the functions of Kubernetes 1.28
to 1.30: quantity, isQuantity, sign, isGreaterThan, isLessThan, compareTo,
asApproximateFloat, asInteger, isInteger, add and sub with a quantity or an int), with
their overload ids. Values are parsed by policies/quantity.py (apimachinery's grammar) and
then treated as ParseQuantity treats them (k8s.io/apimachinery/pkg/api/resource/
quantity.go): a non-zero value is rounded up, away from zero, to a multiple of 1n, and a
binary-suffixed value is capped at 2^63-1.

cel-expr-python calls Python functions only with values of CEL's own types or of protobuf
messages, so the opaque ``kubernetes.Quantity`` is a message here that holds the exact
value as normalized decimal text: two equal quantities are equal messages (as
apiservercel.Quantity.Equal compares by value).
"""

from __future__ import annotations

import math
from decimal import ROUND_UP, Decimal, localcontext
from functools import lru_cache
from typing import Any

from oomguard.policies.quantity import QuantityError, parse_quantity, split_quantity

TYPE_NAME = "kubernetes.Quantity"
_NANO = Decimal("1e-9")
_MAX_INT64 = (1 << 63) - 1
_BINARY = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


@lru_cache(maxsize=1)
def _message_class() -> tuple[Any, Any]:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    proto = descriptor_pb2.FileDescriptorProto(name="kubernetes_quantity.proto",
                                               package="kubernetes", syntax="proto3")
    message = proto.message_type.add(name="Quantity")
    message.field.add(name="value", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                      label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return pool, message_factory.GetMessageClass(pool.FindMessageTypeByName(TYPE_NAME))


def pool() -> Any:
    """The descriptor pool that declares ``kubernetes.Quantity`` (for cel.NewEnv)."""
    return _message_class()[0]


def parse(text: str) -> Decimal:
    """ParseQuantity's value of ``text``; raises QuantityError as it errors."""
    value = parse_quantity(text)
    with localcontext() as ctx:
        ctx.prec = 80
        exponent = value.as_tuple().exponent
        if value != 0 and isinstance(exponent, int) and exponent < -9:
            value = value.quantize(_NANO, rounding=ROUND_UP)  # magnitude up, sign kept
        if split_quantity(text)[1] in _BINARY and value > _MAX_INT64:
            value = Decimal(_MAX_INT64)
    return value


def _make(value: Decimal) -> Any:
    cls = _message_class()[1]
    normal = value.normalize() if value else Decimal(0)
    return cls(value=format(normal, "f"))


def _value(message: Any) -> Decimal:
    return Decimal(message.value)


def _string_to_quantity(text: str) -> Any:
    try:
        return _make(parse(text))
    except QuantityError as exc:
        raise ValueError(str(exc)) from None


def _is_quantity(text: str) -> bool:
    try:
        parse(text)
    except QuantityError:
        return False
    return True


def _sign(q: Any) -> int:
    value = _value(q)
    return (value > 0) - (value < 0)


def _compare(a: Any, b: Any) -> int:
    x, y = _value(a), _value(b)
    return (x > y) - (x < y)


def _as_integer(q: Any) -> int:
    value = _value(q)
    if value != value.to_integral_value() or not -_MAX_INT64 - 1 <= value <= _MAX_INT64:
        raise ValueError("cannot convert value to integer")
    return int(value)


def _is_integer(q: Any) -> bool:
    value = _value(q)
    return value == value.to_integral_value() and -_MAX_INT64 - 1 <= value <= _MAX_INT64


def _as_float(q: Any) -> float:
    value = float(_value(q))
    return value if not math.isnan(value) else math.inf


def _add(a: Any, b: Any) -> Any:
    with localcontext() as ctx:
        ctx.prec = 80
        other = _value(b) if not isinstance(b, int) else Decimal(b)
        return _make(_value(a) + other)


def _sub(a: Any, b: Any) -> Any:
    with localcontext() as ctx:
        ctx.prec = 80
        other = _value(b) if not isinstance(b, int) else Decimal(b)
        return _make(_value(a) - other)


def extension() -> Any:
    """The library as a cel.CelExtension (overload ids as in quantity.go)."""
    from cel_expr_python import cel

    q = cel.Type(TYPE_NAME)
    t = cel.Type

    def member(fn: str, oid: str, ret: Any, params: list[Any], impl: Any) -> Any:
        return cel.FunctionDecl(fn, [cel.Overload(oid, ret, params, is_member=True, impl=impl)])

    return cel.CelExtension("kubernetes.quantity", [
        cel.FunctionDecl("quantity", [cel.Overload("string_to_quantity", q, [t.STRING],
                                                   impl=_string_to_quantity)]),
        cel.FunctionDecl("isQuantity", [cel.Overload("is_quantity_string", t.BOOL, [t.STRING],
                                                     impl=_is_quantity)]),
        member("sign", "quantity_sign", t.INT, [q], _sign),
        member("isGreaterThan", "quantity_is_greater_than", t.BOOL, [q, q],
               lambda a, b: _compare(a, b) == 1),
        member("isLessThan", "quantity_is_less_than", t.BOOL, [q, q],
               lambda a, b: _compare(a, b) == -1),
        member("compareTo", "quantity_compare_to", t.INT, [q, q], _compare),
        member("asApproximateFloat", "quantity_get_float", t.DOUBLE, [q], _as_float),
        member("asInteger", "quantity_get_int", t.INT, [q], _as_integer),
        member("isInteger", "quantity_is_integer", t.BOOL, [q], _is_integer),
        cel.FunctionDecl("add", [
            cel.Overload("quantity_add", q, [q, q], is_member=True, impl=_add),
            cel.Overload("quantity_add_int", q, [q, t.INT], is_member=True, impl=_add)]),
        cel.FunctionDecl("sub", [
            cel.Overload("quantity_sub", q, [q, q], is_member=True, impl=_sub),
            cel.Overload("quantity_sub_int", q, [q, t.INT], is_member=True, impl=_sub)]),
    ])
