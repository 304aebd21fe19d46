"""JSON through the C accelerator `_json` alone.

`import json` costs ~3 ms here (json.decoder pulls in `re`, which pulls in `enum`, `functools`,
`collections`), on every runtime call; the parsing and encoding are done by `_json` anyway.
Output is what `json.dumps` writes with its defaults (ASCII, ", " and ": "); `dumps(indent=N)`
matches `json.dumps(indent=N)`. A syntax error raises json.JSONDecodeError (a ValueError): `json.decoder`
is imported only then.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_quote = _json.encode_basestring_ascii


class _DecoderSettings:
    """The attributes `_json.make_scanner` reads off a json.JSONDecoder."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity, -Infinity, as json.loads accepts them
    memo: dict[str, str] = {}


_scan = _json.make_scanner(_DecoderSettings())
_encode = _json.make_encoder(None, None, _quote, None, ": ", ", ", False, False, True)
_encode_compact = _json.make_encoder(None, None, _quote, None, ":", ",", False, False, True)  # as Go writes
_WHITESPACE = " \t\n\r"


def loads(text: str | bytes) -> Any:
    if isinstance(text, (bytes, bytearray)):
        text = text.decode()
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as err:
        raise _decode_error("Expecting value", text, err.value) from None
    except SystemError:
        # _json raises json.decoder.JSONDecodeError only when json.decoder is already imported (it looks
        # it up in sys.modules), and a SystemError otherwise: import it, scan again for the real message.
        import json.decoder  # noqa: F401

        value, end = _scan(text, start)
    if text[end:].strip(_WHITESPACE):
        raise _decode_error("Extra data", text, end)
    return value


def load(file: Any) -> Any:
    return loads(file.read())


def dumps(value: Any, indent: int | str | None = None, compact: bool = False) -> str:
    if compact:
        return "".join(_encode_compact(value, 0))
    if indent is None:
        return "".join(_encode(value, 0))
    return "".join(_indented(value, " " * indent if isinstance(indent, int) else indent, "\n"))


def dump(value: Any, file: Any, indent: int | str | None = None) -> None:
    file.write(dumps(value, indent))


def _indented(value: Any, step: str, newline: str) -> Any:
    # Containers are laid out as json.dumps(indent=...) does; scalars go through the C encoder.
    if isinstance(value, dict) and value:
        inner = newline + step
        yield "{"
        first = True
        for key, item in value.items():
            yield (inner if first else "," + inner) + _quote(str(key)) + ": "
            first = False
            yield from _indented(item, step, inner)
        yield newline + "}"
    elif isinstance(value, (list, tuple)) and value:
        inner = newline + step
        yield "["
        for i, item in enumerate(value):
            yield inner if i == 0 else "," + inner
            yield from _indented(item, step, inner)
        yield newline + "]"
    else:
        yield "".join(_encode(value, 0))


def _decode_error(message: str, text: str, position: int) -> ValueError:
    from json import JSONDecodeError

    return JSONDecodeError(message, text, position)
