"""The part of Go's text/template that people write in `--format`, with the docker CLI's functions.

Supported: text and `{{ }}` actions with `{{-`/`-}}` trimming; fields `.A.B` on dicts (a missing key
prints `<no value>`) and on objects (attributes); `$` and `$var` (`:=`, `=`); pipelines with `|`;
parenthesised sub-pipelines; string, number and bool literals; `if`/`else if`/`else`, `range` (with
`$i, $v :=`, over lists and dicts, with `else`), `with`, `end`; functions `json`, `join`, `split`,
`upper`, `lower`, `title`, `pad`, `truncate`, `index`, `len`, `print`, `printf`, `println`, `eq`,
`ne`, `lt`, `le`, `gt`, `ge`, `and`, `or`, `not`, `slice`. Values print as Go's fmt `%v` does.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class TemplateError(Exception):
    pass


NO_VALUE = "<no value>"


class _NoValue:
    """A missing map key: prints `<no value>`, is false in conditions."""

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return NO_VALUE


MISSING = _NoValue()


# ---------------------------------------------------------------- printing values like Go's %v

def go_string(value: Any) -> str:
    if value is None:
        return "<nil>"
    if value is MISSING:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "map[" + " ".join(f"{go_string(k)}:{go_string(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    return str(value)


def _go_float(value: float) -> str:
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    return text


def truthy(value: Any) -> bool:
    if value is None or value is MISSING:
        return False
    if isinstance(value, bool | int | float | str | list | tuple | dict):
        return bool(value)
    return True


# ---------------------------------------------------------------- functions

def _json(value: Any) -> str:
    import json

    return json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any) -> Any:
    """Objects with a `to_json()` (formatter contexts) become dicts for `json`."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if value is MISSING:
        return None
    return value


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if value is None or value is MISSING:
            return MISSING
        if isinstance(value, dict):
            value = value.get(key, "")  # Go's zero value of docker's map[string]string
        else:
            try:
                value = value[int(key)]
            except (IndexError, TypeError, ValueError) as err:
                raise TemplateError(f"error calling index: {err}") from None
    return value


def _join(values: Any, separator: str) -> str:
    return separator.join(go_string(v) for v in values or [])


def _printf(fmt: str, *args: Any) -> str:
    out, index, arg = [], 0, 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%" or index + 1 >= len(fmt):
            out.append(char)
            index += 1
            continue
        end = index + 1
        while end < len(fmt) and fmt[end] in "-+# 0123456789.":
            end += 1
        verb, spec = fmt[end], fmt[index + 1:end]
        index = end + 1
        if verb == "%":
            out.append("%")
            continue
        value = args[arg] if arg < len(args) else None
        arg += 1
        if verb in "vs":
            out.append(("%" + spec + "s") % go_string(value))
        elif verb == "q":
            out.append(_json(go_string(value)))
        elif verb in "dxXo":
            out.append(("%" + spec + verb) % int(value))
        elif verb in "feg":
            out.append(("%" + spec + verb) % float(value))
        elif verb == "t":
            out.append(go_string(bool(value)))
        else:
            out.append(f"%!{verb}({go_string(value)})")
    return "".join(out)


def _pad(value: Any, before: int, after: int) -> str:
    return " " * int(before) + go_string(value) + " " * int(after)


def _truncate(value: Any, length: int) -> str:
    return go_string(value)[: int(length)]


def _compare(op: str) -> Callable[..., bool]:
    def compare(a: Any, *others: Any) -> bool:
        if op == "eq":
            return any(_normal(a) == _normal(b) for b in others)
        b = _normal(others[0])
        a = _normal(a)
        return {"ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]

    return compare


def _normal(value: Any) -> Any:
    return None if value is MISSING else value


def _and(*values: Any) -> Any:
    for value in values:
        if not truthy(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    for value in values:
        if truthy(value):
            return value
    return values[-1]


def _slice(value: Any, *bounds: int) -> Any:
    return value[slice(*(int(b) for b in bounds))]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": _json,
    "join": _join,
    "split": lambda text, sep: go_string(text).split(sep),
    "upper": lambda text: go_string(text).upper(),
    "lower": lambda text: go_string(text).lower(),
    "title": lambda text: go_string(text).title(),
    "pad": _pad,
    "truncate": _truncate,
    "index": _index,
    "len": lambda value: len(value or []),
    "print": lambda *values: _go_print(values),
    "printf": _printf,
    "println": lambda *values: " ".join(go_string(v) for v in values) + "\n",
    "eq": _compare("eq"), "ne": _compare("ne"), "lt": _compare("lt"),
    "le": _compare("le"), "gt": _compare("gt"), "ge": _compare("ge"),
    "and": _and, "or": _or, "not": lambda value: not truthy(value),
    "slice": _slice,
}


def _go_print(values: tuple[Any, ...]) -> str:
    # fmt.Sprint puts spaces between operands when neither is a string
    out = ""
    for i, value in enumerate(values):
        if i and not isinstance(value, str) and not isinstance(values[i - 1], str):
            out += " "
        out += go_string(value)
    return out


# ---------------------------------------------------------------- lexing actions

def _lex(action: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(action):
        char = action[i]
        if char.isspace():
            i += 1
        elif char in "()|,":
            tokens.append((char, char))
            i += 1
        elif action.startswith(":=", i):
            tokens.append((":=", ":="))
            i += 2
        elif char == "=":
            tokens.append(("=", "="))
            i += 1
        elif char == '"':
            end = i + 1
            while end < len(action) and action[end] != '"':
                end += 2 if action[end] == "\\" else 1
            if end >= len(action):
                raise TemplateError("unterminated quoted string")
            import json

            tokens.append(("str", json.loads(action[i:end + 1])))
            i = end + 1
        elif char == "`":
            end = action.find("`", i + 1)
            if end < 0:
                raise TemplateError("unterminated raw quoted string")
            tokens.append(("str", action[i + 1:end]))
            i = end + 1
        else:
            end = i
            while end < len(action) and not action[end].isspace() and action[end] not in "()|,=" \
                    and not action.startswith(":=", end):
                end += 1
            word = action[i:end]
            if not word:
                raise TemplateError(f"unexpected {char!r} in action")
            i = end
            if word[0] == "." or word[0] == "$":
                tokens.append(("field" if word[0] == "." else "var", word))
            elif word in ("true", "false"):
                tokens.append(("bool", word))
            elif word == "nil":
                tokens.append(("nil", word))
            elif word[0].isdigit() or word[0] in "-+" and len(word) > 1:
                tokens.append(("num", word))
            else:
                tokens.append(("ident", word))
    return tokens


# ---------------------------------------------------------------- parsing

class _Pipeline:
    def __init__(self, declare: list[str], assign: bool, commands: list[list[Any]]) -> None:
        self.declare, self.assign, self.commands = declare, assign, commands


def _parse_pipeline(tokens: list[tuple[str, str]]) -> _Pipeline:
    declare: list[str] = []
    assign = False
    # `$x :=`, `$i, $v :=` or `$x =`
    for position, (kind, _) in enumerate(tokens):
        if kind in (":=", "="):
            names = [value for kind2, value in tokens[:position] if kind2 == "var"]
            if names and all(k in ("var", ",") for k, _ in tokens[:position]):
                declare, assign, tokens = names, kind == "=", tokens[position + 1:]
            break
    commands, position = _parse_commands(tokens, 0)
    if position != len(tokens):
        raise TemplateError(f"unexpected {tokens[position][1]!r} in command")
    return _Pipeline(declare, assign, commands)


def _parse_commands(tokens: list[tuple[str, str]], position: int) -> tuple[list[list[Any]], int]:
    commands: list[list[Any]] = [[]]
    while position < len(tokens):
        kind, value = tokens[position]
        if kind == ")":
            break
        if kind == "|":
            commands.append([])
            position += 1
            continue
        if kind == "(":
            inner, position = _parse_commands(tokens, position + 1)
            if position >= len(tokens) or tokens[position][0] != ")":
                raise TemplateError("unclosed left paren")
            commands[-1].append(("pipe", _Pipeline([], False, inner)))
            position += 1
            continue
        commands[-1].append((kind, value))
        position += 1
    if any(not command for command in commands):
        raise TemplateError("missing value for command")
    return commands, position


class _Node:
    pass


class _Text(_Node):
    def __init__(self, text: str) -> None:
        self.text = text


class _Action(_Node):
    def __init__(self, pipeline: _Pipeline) -> None:
        self.pipeline = pipeline


class _Block(_Node):
    def __init__(self, kind: str, pipeline: _Pipeline) -> None:
        self.kind, self.pipeline = kind, pipeline
        self.body: list[_Node] = []
        self.otherwise: list[_Node] = []


def _split(source: str) -> list[tuple[str, str]]:
    """[("text", …) | ("action", …)] with `{{-` / `-}}` trimming applied."""
    parts: list[tuple[str, str]] = []
    position = 0
    while True:
        start = source.find("{{", position)
        if start < 0:
            parts.append(("text", source[position:]))
            return parts
        text = source[position:start]
        end = source.find("}}", start + 2)
        if end < 0:
            raise TemplateError("unclosed action")
        action = source[start + 2:end]
        if action.startswith("- ") or action == "-":
            text = text.rstrip()
            action = action[1:]
        position = end + 2
        if action.endswith(" -"):
            action = action[:-1]
            rest = source[position:]
            position += len(rest) - len(rest.lstrip())
        parts.append(("text", text))
        action = action.strip()
        if not (action.startswith("/*") and action.endswith("*/")):
            parts.append(("action", action))


def _parse(source: str) -> list[_Node]:
    root: list[_Node] = []
    stack: list[tuple[_Block, list[_Node]]] = []
    current = root
    for kind, content in _split(source):
        if kind == "text":
            if content:
                current.append(_Text(content))
            continue
        word, _, rest = content.partition(" ")
        if word in ("if", "range", "with"):
            block = _Block(word, _parse_pipeline(_lex(rest)))
            current.append(block)
            stack.append((block, current))
            current = block.body
        elif word == "else":
            if not stack:
                raise TemplateError("unexpected {{else}}")
            block, _parent = stack[-1]
            if rest.strip().startswith("if ") or rest.strip().startswith("with "):
                inner_word, _, inner_rest = rest.strip().partition(" ")
                nested = _Block(inner_word, _parse_pipeline(_lex(inner_rest)))
                block.otherwise.append(nested)
                # the nested block shares the outer {{end}}: mark it so end pops both
                stack.append((nested, block.otherwise))
                nested.chained = True  # type: ignore[attr-defined]
                current = nested.body
            else:
                current = block.otherwise
        elif word == "end":
            if not stack:
                raise TemplateError("unexpected {{end}}")
            block, current = stack.pop()
            while getattr(block, "chained", False):
                block, current = stack.pop()
        elif word in ("define", "template", "block"):
            raise TemplateError(f"{{{{{word}}}}} is not supported")
        else:
            current.append(_Action(_parse_pipeline(_lex(content))))
    if stack:
        raise TemplateError("unexpected EOF: missing {{end}}")
    return root


# ---------------------------------------------------------------- evaluation

# Fields that are Go maps in docker's inspect types: a missing key there prints <no value>; elsewhere
# (struct fields) a strict template fails, as `docker inspect -f '{{.NoSuchField}}'` does.
MAP_FIELDS = frozenset({"Labels", "Options", "DriverOpts", "Networks", "Ports", "Volumes", "ExposedPorts",
                        "Sysctls", "Tmpfs", "Containers", "Status", "Annotations", "StorageOpt", "Data",
                        "Attributes", "Peers", "Services"})


class Template:
    def __init__(self, source: str, functions: dict[str, Callable[..., Any]] | None = None,
                 strict_keys: bool = False) -> None:
        self.source = source
        self.strict_keys = strict_keys
        self.functions = {**FUNCTIONS, **(functions or {})}
        self.nodes = _parse(source)

    def render(self, data: Any) -> str:
        out: list[str] = []
        self._run(self.nodes, data, {"$": data}, out)
        return "".join(out)

    def _run(self, nodes: list[_Node], dot: Any, variables: dict[str, Any], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                out.append(node.text)
            elif isinstance(node, _Action):
                value = self._pipeline(node.pipeline, dot, variables)
                if not node.pipeline.declare:
                    out.append(go_string(value))
            elif isinstance(node, _Block):
                self._block(node, dot, variables, out)

    def _block(self, block: _Block, dot: Any, variables: dict[str, Any], out: list[str]) -> None:
        scope = dict(variables)
        if block.kind == "range":
            value = self._eval(block.pipeline.commands, dot, scope)
            items = list(value.items()) if isinstance(value, dict) else list(enumerate(value or []))
            if isinstance(value, dict):
                items.sort()
            if not items:
                self._run(block.otherwise, dot, scope, out)
            names = block.pipeline.declare
            for key, item in items:
                if len(names) == 1:
                    scope[names[0]] = item
                elif len(names) == 2:
                    scope[names[0]], scope[names[1]] = key, item
                self._run(block.body, item, scope, out)
            return
        value = self._pipeline(block.pipeline, dot, scope)
        if truthy(value):
            self._run(block.body, value if block.kind == "with" else dot, scope, out)
        else:
            self._run(block.otherwise, dot, scope, out)

    def _pipeline(self, pipeline: _Pipeline, dot: Any, variables: dict[str, Any]) -> Any:
        value = self._eval(pipeline.commands, dot, variables)
        for name in pipeline.declare:
            variables[name] = value
        return value

    def _eval(self, commands: list[list[Any]], dot: Any, variables: dict[str, Any]) -> Any:
        result: Any = None
        for position, command in enumerate(commands):
            extra = [result] if position else []
            result = self._command(command, dot, variables, extra)
        return result

    def _command(self, command: list[Any], dot: Any, variables: dict[str, Any], extra: list[Any]) -> Any:
        head_kind, head = command[0]
        if head_kind == "ident":
            function = self.functions.get(head)
            if function is None:
                raise TemplateError(f'function "{head}" not defined')
            args = [self._operand(arg, dot, variables) for arg in command[1:]] + extra
            try:
                return function(*args)
            except TemplateError:
                raise
            except Exception as err:  # noqa: BLE001 - a bad argument is the template's error
                raise TemplateError(f"error calling {head}: {err}") from None
        if len(command) > 1 or extra:
            if head_kind == "field":  # a method: `.Label "team"`
                value = _fields(dot, head, call_last=False, strict=self.strict_keys)
            else:
                value = self._operand(command[0], dot, variables)
            if callable(value):
                return value(*[self._operand(a, dot, variables) for a in command[1:]], *extra)
            raise TemplateError(f"can't give argument to non-function {head}")
        return self._operand(command[0], dot, variables)

    def _operand(self, token: Any, dot: Any, variables: dict[str, Any]) -> Any:
        kind, value = token
        if kind == "field":
            return _fields(dot, value, strict=self.strict_keys)
        if kind == "var":
            name, _, path = value.partition(".")
            if name not in variables:
                raise TemplateError(f"undefined variable: {name}")
            return _fields(variables[name], "." + path, strict=self.strict_keys) if path else variables[name]
        if kind == "str":
            return value
        if kind == "num":
            return float(value) if any(c in value for c in ".eE") and not value.startswith("0x") else int(value, 0)
        if kind == "bool":
            return value == "true"
        if kind == "nil":
            return None
        if kind == "pipe":
            return self._eval(value.commands, dot, variables)
        if kind == "ident":
            function = self.functions.get(value)
            if function is None:
                raise TemplateError(f'function "{value}" not defined')
            return function()
        raise TemplateError(f"unexpected {value!r}")


def _fields(value: Any, path: str, call_last: bool = True, strict: bool = False) -> Any:
    if path == ".":
        return value
    names = path[1:].split(".")
    parent = None
    for position, name in enumerate(names):
        if value is None or value is MISSING:
            if value is None:
                raise TemplateError(f"nil pointer evaluating .{name}")
            return MISSING
        if isinstance(value, dict):
            if strict and name not in value and parent not in MAP_FIELDS:
                raise TemplateError(f'executing "" at <{path}>: map has no entry for key "{name}"')
            value, parent = value.get(name, MISSING), name
            continue
        attribute = getattr(value, name, MISSING)
        if attribute is MISSING or name.startswith("_"):
            raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
        last, parent = position == len(names) - 1, name
        value = attribute() if callable(attribute) and (call_last or not last) else attribute
    return value


def render(source: str, data: Any) -> str:
    return Template(source).render(data)
