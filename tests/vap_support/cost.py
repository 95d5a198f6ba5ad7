"""The runtime cost kube-apiserver charges for a CEL evaluation, measured by evaluating the
expression once more with a small interpreter that counts what cel-go counts.

cel-expr-python (the C++ runtime) computes no cost, so this module parses the CEL that
policies.vap writes and evaluates it on the same data, charging as cel-go's CostTracker does
(interpreter/runtimecost.go) with Kubernetes' library costs (k8s.io/apiserver/pkg/cel/
library/cost.go, the "strict cost" of 1.30+): an identifier or field selection 1, a call 1
unless priced by size (string traversal 0.1 per byte, `matches` (1+len)*0.1 times
len(regex)*0.25, `join` 2*0.1 per result byte, quantity parsing 0.1 per byte), a list
literal 10 and a map literal 30, list membership the list's size, and comprehensions as
their macro expansions cost (parser/macro.go: every iteration reads the accumulator and
tests the loop condition; map and filter append a one-element list). It errs high where it
is unsure: `has()` and optional selection cost 1, and no constant is folded (cel-go's
OptOptimize folds `quantity('1Mi')` to no cost). The test compares its results with the C++
runtime's, so the cost is that of the same evaluation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.vap_support import quantity_lib

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<raw>[rR](?:'[^']*'|"[^"]*"))
  | (?P<str>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
  | (?P<num>\d+\.\d+|\d+)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\?|\[\?|&&|\|\||==|!=|<=|>=|[-+*/%!<>?:.,()\[\]{}])
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"', "r": "\r"}
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


def tokenize(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise SyntaxError(f"cannot read {text[pos:pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append((kind, match.group()))
    return out


class Parser:
    """Recursive descent over CEL's grammar (cel-spec langdef.md), the part policies.vap uses."""

    def __init__(self, text: str) -> None:
        self.tokens, self.pos = tokenize(text), 0

    def peek(self) -> str:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise SyntaxError(f"expected {expected!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        node = self.expr()
        if self.pos != len(self.tokens):
            raise SyntaxError(f"trailing {self.peek()!r}")
        return node

    def expr(self) -> Any:
        node = self.binary(0)
        if self.peek() == "?":
            self.take()
            yes = self.expr()
            self.take(":")
            return ("cond", node, yes, self.expr())
        return node

    LEVELS = (("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">=", "in"), ("+", "-"),
              ("*", "/", "%"))

    def binary(self, level: int) -> Any:
        if level == len(self.LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() in self.LEVELS[level]:
            op = self.take()[1]
            node = ("op", op, node, self.binary(level + 1))
        return node

    def unary(self) -> Any:
        if self.peek() in ("!", "-"):
            op = self.take()[1]
            return ("op", "u" + op, self.unary())
        return self.member()

    def args(self, close: str) -> list[Any]:
        items = []
        while self.peek() != close:
            items.append(self.expr())
            if self.peek() == ",":
                self.take()
        self.take(close)
        return items

    def member(self) -> Any:
        node = self.primary()
        while self.peek() in (".", ".?", "[", "[?"):
            op = self.take()[1]
            if op in (".", ".?"):
                name = self.take()[1]
                if op == "." and self.peek() == "(":
                    self.take()
                    node = ("call", name, node, self.args(")"))
                else:
                    node = ("select", node, name, op == ".?")
            else:
                key = self.expr()
                self.take("]")
                node = ("index", node, key, op == "[?")
        return node

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return ("lit", Decimal(text) if "." in text else int(text))
        if kind == "raw":
            return ("lit", text[2:-1])
        if kind == "str":
            body, out, i = text[1:-1], [], 0
            while i < len(body):
                if body[i] == "\\":
                    out.append(_ESCAPES[body[i + 1]])
                    i += 2
                else:
                    out.append(body[i])
                    i += 1
            return ("lit", "".join(out))
        if kind == "id":
            if text in ("true", "false", "null"):
                return ("lit", {"true": True, "false": False, "null": None}[text])
            if self.peek() == "(":
                self.take()
                return ("call", text, None, self.args(")"))
            return ("ident", text)
        if text == "(":
            node = self.expr()
            self.take(")")
            return node
        if text == "[":
            return ("list", self.args("]"))
        if text == "{":
            pairs = []
            while self.peek() != "}":
                key = self.expr()
                self.take(":")
                pairs.append((key, self.expr()))
                if self.peek() == ",":
                    self.take()
            self.take("}")
            return ("map", pairs)
        raise SyntaxError(f"unexpected {text!r}")


@dataclass(frozen=True)
class Opt:
    present: bool
    value: Any = None


@dataclass(frozen=True)
class Qty:
    value: Decimal


@dataclass(frozen=True)
class TypeVal:
    name: str


def _size(value: Any) -> int:
    """actualSize: strings, bytes, lists and maps by size; anything else 1."""
    return len(value) if isinstance(value, (str, list, dict)) else 1


def _traverse(size: int, factor: float = 0.1) -> int:
    return math.ceil(size * factor)


def _type_of(value: Any) -> TypeVal:
    if isinstance(value, dict):
        return TypeVal("map")
    if isinstance(value, list):
        return TypeVal("list")
    if isinstance(value, bool):
        return TypeVal("bool")
    if isinstance(value, str):
        return TypeVal("string")
    if value is None:
        return TypeVal("null_type")
    return TypeVal(type(value).__name__)


def _re2(pattern: str) -> re.Pattern[str]:
    """RE2's \\x{h} escapes in Python's syntax (the only difference the patterns have)."""
    return re.compile(re.sub(r"\\x\{([0-9a-fA-F]+)\}", lambda m: f"\\U{int(m[1], 16):08x}",
                             pattern))


class Meter:
    """Evaluates one expression with ``variables`` resolved lazily (each charged once)."""

    def __init__(self, data: dict[str, Any], variables: dict[str, Any] | None = None) -> None:
        self.data = data
        self.cost = 0
        self.variables = variables or {}  # name -> parsed expression
        self.values: dict[str, Any] = {}

    def run(self, text: str) -> Any:
        return self.eval(Parser(text).parse(), {})

    # -- evaluation ----------------------------------------------------------------------------
    def eval(self, node: Any, scope: dict[str, Any]) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "ident":
            self.cost += 1
            name = node[1]
            if name in scope:
                return scope[name]
            if name in self.data:
                return self.data[name]
            return TypeVal(name)  # map, list, ...
        if kind == "select":
            _, target, name, optional = node
            if target == ("ident", "variables"):
                self.cost += 2
                return self.variable(name)
            value = self.eval(target, scope)
            self.cost += 1
            if isinstance(value, Opt):
                if not value.present:
                    return value
                value = value.value
                optional = True
            if optional:
                return Opt(True, value[name]) if isinstance(value, dict) and name in value \
                    else Opt(False)
            if not isinstance(value, dict) or name not in value:
                raise KeyError(name)
            return value[name]
        if kind == "index":
            _, target, key_node, optional = node
            value, key = self.eval(target, scope), self.eval(key_node, scope)
            self.cost += 1
            if isinstance(value, Opt):
                if not value.present:
                    return value
                value, optional = value.value, True
            if optional:
                found = isinstance(value, dict) and key in value
                return Opt(True, value[key]) if found else Opt(False)
            return value[key]
        if kind == "cond":
            return self.eval(node[2] if self.eval(node[1], scope) else node[3], scope)
        if kind == "list":
            self.cost += 10
            return [self.eval(item, scope) for item in node[1]]
        if kind == "map":
            self.cost += 30
            return {self.eval(k, scope): self.eval(v, scope) for k, v in node[1]}
        if kind == "op":
            return self.operator(node, scope)
        return self.call(node, scope)

    def variable(self, name: str) -> Any:
        if name not in self.values:
            self.values[name] = self.eval(self.variables[name], {})
        return self.values[name]

    def operator(self, node: Any, scope: dict[str, Any]) -> Any:
        op = node[1]
        if op == "&&":
            return bool(self.eval(node[2], scope)) and bool(self.eval(node[3], scope))
        if op == "||":
            return bool(self.eval(node[2], scope)) or bool(self.eval(node[3], scope))
        if op == "u!":
            self.cost += 1
            return not self.eval(node[2], scope)
        if op == "u-":
            self.cost += 1
            return -self.eval(node[2], scope)
        left, right = self.eval(node[2], scope), self.eval(node[3], scope)
        if op in ("==", "!="):
            self.cost += _traverse(min(_size(left), _size(right)))
            equal = left == right and type(left) is type(right) or \
                (isinstance(left, TypeVal) and left == right)
            return equal if op == "==" else not equal
        if op == "in":
            self.cost += _size(right) if isinstance(right, list) else 1
            return left in right
        if op == "+" and isinstance(left, str):
            self.cost += _traverse(len(left) + len(right))
            return left + right
        self.cost += 1
        operations: dict[str, Callable[[Any, Any], Any]] = {
            "+": lambda a, b: a + b, "-": lambda a, b: a - b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
        return operations[op](left, right)

    def macro(self, name: str, target: Any, args: list[Any], scope: dict[str, Any]) -> Any:
        items = self.eval(target, scope)
        items = list(items) if isinstance(items, (list, dict)) else items
        var = args[0][1]
        body = args[1]
        if name in ("map", "filter"):
            self.cost += 10 + 1  # the accumulator's [] and the result
            out = []
            for item in items:
                keep = self.eval(body, {**scope, var: item})
                if name == "map":
                    self.cost += 12  # __result__ + [f(x)]
                    out.append(keep)
                elif keep:
                    self.cost += 13  # __result__ + [x]
                    out.append(item)
                else:
                    self.cost += 1
            return out
        self.cost += 1  # the result
        result = name == "all"
        for item in items:
            self.cost += 2 if name == "all" else 3  # @not_strictly_false(...) on __result__
            self.cost += 1
            value = bool(self.eval(body, {**scope, var: item}))
            if name == "all" and not value:
                return False
            if name == "exists" and value:
                return True
        return result

    def call(self, node: Any, scope: dict[str, Any]) -> Any:
        _, name, target, args = node
        if target is not None and name in MACROS:
            return self.macro(name, target, args, scope)
        if name == "has":
            self.cost += 1
            inner = args[0]
            value = self.eval(inner[1], scope)
            return isinstance(value, dict) and inner[2] in value
        values = [self.eval(a, scope) for a in args]
        this = self.eval(target, scope) if target is not None else None
        if name == "orValue":
            self.cost += 1
            return this.value if this.present else values[0]
        if name == "or":
            self.cost += 1
            return this if this.present else values[0]
        if name == "hasValue":
            self.cost += 1
            return this.present
        if name in ("quantity", "isQuantity"):
            self.cost += _traverse(_size(values[0]))
            if name == "isQuantity":
                try:
                    quantity_lib.parse(values[0])
                except ValueError:
                    return False
                return True
            return Qty(quantity_lib.parse(values[0]))
        if name == "matches":
            self.cost += _traverse(1 + len(this)) * _traverse(len(values[0]), 0.25)
            return _re2(values[0]).search(this) is not None
        if name == "join":
            result = values[0].join(this)
            self.cost += _traverse(len(result), 0.2)
            return result
        if name == "substring":
            self.cost += _traverse(len(this))
            return this[values[0]:values[1]]
        self.cost += 1
        if name == "size":
            return len(this if target is not None else values[0])
        if name == "type":
            return _type_of(values[0])
        if name == "dyn":
            return values[0]
        if name == "string":
            value = values[0]
            return value if isinstance(value, str) else str(value)
        if name == "sign":
            return (this.value > 0) - (this.value < 0)
        if name == "compareTo":
            return (this.value > values[0].value) - (this.value < values[0].value)
        if name == "isGreaterThan":
            return this.value > values[0].value
        if name == "isLessThan":
            return this.value < values[0].value
        if name in ("add", "sub"):
            other = values[0].value if isinstance(values[0], Qty) else Decimal(values[0])
            return Qty(this.value + other if name == "add" else this.value - other)
        raise NotImplementedError(name)


def policy_cost(policy: dict[str, Any], data: dict[str, Any]) -> tuple[dict[str, int], Any]:
    """The cost of each expression of one evaluation of ``policy`` (match conditions, then
    the variables the validation reaches, the validation and, when it fails, the message)
    and the validation's result."""
    spec = policy["spec"]
    costs: dict[str, int] = {}
    for condition in spec.get("matchConditions") or ():
        meter = Meter(data)
        meter.run(condition["expression"])
        costs[f"matchCondition {condition['name']}"] = meter.cost
    parsed = {v["name"]: Parser(v["expression"]).parse() for v in spec.get("variables") or ()}
    meter = Meter(data, parsed)
    validation = spec["validations"][0]
    before = meter.cost
    passed = meter.run(validation["expression"])
    costs["validation (with the variables it reaches)"] = meter.cost - before
    if passed is not True:
        before = meter.cost
        meter.run(validation["messageExpression"])
        costs["messageExpression"] = meter.cost - before
    return costs, passed
