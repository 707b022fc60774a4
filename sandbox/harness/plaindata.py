"""Plain-data codec: the only way values cross from student code to the harness.

Values are encoded as JSON with type tags so that the harness rebuilds them from
exact builtin types. An object with a lying ``__eq__`` or ``__repr__`` cannot be
encoded (only ``type(x) is int`` and friends are accepted, never subclasses), so
whatever reaches the comparison is data the harness built itself.

Runs inside the sandbox image (stdlib only) and on the host (tests, runner).
"""

from __future__ import annotations

import ast
import base64
import math

TYPE_CHECKING = False  # the harness does not load typing at run time (see wire.py)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from .wire import JSON, Plain

MAX_DEPTH = 64
MAX_ITEMS = 200_000


class Unencodable(TypeError):
    """The value is not plain data (or is too deep / too large)."""


class _Budget:
    def __init__(self) -> None:
        self.items = 0

    def spend(self) -> None:
        self.items += 1
        if self.items > MAX_ITEMS:
            raise Unencodable("value too large to compare (more than %d items)" % MAX_ITEMS)


def encode(value: Plain, _depth: int = 0, _budget: _Budget | None = None) -> JSON:
    """Return a JSON-serialisable, tagged form of ``value``."""
    budget = _budget or _Budget()
    budget.spend()
    if _depth > MAX_DEPTH:
        raise Unencodable("value nested too deeply")
    t = type(value)
    if value is None or t is bool or t is str:
        scalar: bool | str | None = value  # the type checked just above (``t``, not isinstance)
        return scalar
    if t is int:
        return {"i": str(value)}
    if t is float:
        return {"f": repr(value)}
    if t is complex:
        return {"c": [repr(value.real), repr(value.imag)]}
    if t is bytes:
        return {"b": base64.b64encode(value).decode("ascii")}
    inner = _depth + 1
    if t is list:
        return {"l": [encode(v, inner, budget) for v in value]}
    if t is tuple:
        return {"t": [encode(v, inner, budget) for v in value]}
    if t is set:
        return {"s": [encode(v, inner, budget) for v in value]}
    if t is frozenset:
        return {"fs": [encode(v, inner, budget) for v in value]}
    if t is dict:
        return {"d": [[encode(k, inner, budget), encode(v, inner, budget)] for k, v in value.items()]}
    raise Unencodable("a value of type %s is not plain data" % t.__name__)


def _float(text: str) -> float:
    value = float(text)
    return value


# Each takes a payload from the student's side as it is (anything): a wrong one raises.
_SCALARS: dict[str, Callable[[Any], object]] = {
    "i": int,
    "f": _float,
    "c": lambda parts: complex(float(parts[0]), float(parts[1])),
    "b": lambda text: base64.b64decode(text.encode("ascii"), validate=True),
}
_CONTAINERS: dict[str, Callable[[Iterable[object]], object]] = {
    "l": list,
    "t": tuple,
    "s": set,
    "fs": frozenset,
}


def decode(data: object, _depth: int = 0, _budget: _Budget | None = None) -> Plain:
    """Rebuild a value from :func:`encode`'s output; raise ValueError on anything else
    (including more than MAX_ITEMS values: the harness rebuilds them in its own time)."""
    budget = _budget or _Budget()
    try:
        budget.spend()
    except Unencodable as exc:
        raise ValueError(str(exc)) from None
    if _depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    if data is None or type(data) in (bool, str):
        return data
    if type(data) is not dict or len(data) != 1:
        raise ValueError("malformed plain-data value")
    ((tag, payload),) = data.items()
    if tag in _SCALARS:
        return _SCALARS[tag](payload)
    if tag in _CONTAINERS:
        if type(payload) is not list:
            raise ValueError("malformed container")
        return _CONTAINERS[tag](decode(v, _depth + 1, budget) for v in payload)
    if tag == "d":
        if type(payload) is not list:
            raise ValueError("malformed dict")
        return {decode(k, _depth + 1, budget): decode(v, _depth + 1, budget) for k, v in payload}
    raise ValueError("unknown plain-data tag %r" % tag)


def short_repr(value: object, limit: int = 2000) -> str:
    """``repr`` capped at ``limit`` characters, for reports."""
    text = repr(value)
    if len(text) > limit:
        return text[: limit - 15] + "...[truncated]"
    return text


_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "infinity": math.inf}


def parse_literal(text: str) -> Plain:
    """``ast.literal_eval`` that also accepts ``nan`` and ``inf`` (as names) for expected values."""
    tree = ast.parse(text.strip(), mode="eval")

    class Floats(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Constant:
            if node.id.lower() in _SPECIAL_FLOATS:
                return ast.copy_location(ast.Constant(_SPECIAL_FLOATS[node.id.lower()]), node)
            raise ValueError("name %r is not a literal" % node.id)

    return ast.literal_eval(Floats().visit(tree))
