"""What each key of a config takes and means, read off the config classes themselves: the allowed values from
the field's type (a `Literal`'s choices, true/false) or from the class's `CHOICES` (names a registry or a list
knows, e.g. the corruptions of image_restoration), and the description from the comment beside the field in
its source (`steps: int = 1000  # optimisation steps`, with the comment lines that continue it).

`genesis config TASK` writes them as comments above each key, `genesis train --help` lists the trainer's, and
the pages use them as their widgets' help.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml

_FIELD = re.compile(r"^\s+(\w+)\s*:\s*[^#=]+?(?:=.*?)?(?:#\s?(?P<doc>.*))?$")
_CONTINUED = re.compile(r"^\s+#\s?(?P<doc>.*)$")


@dataclass(frozen=True)
class FieldDoc:
    key: str  # dotted: trainer.tracker
    allowed: str  # "tensorboard | mlflow | wandb | none", "true | false", "int", ...
    description: str  # the comment beside the field ("" when it has none)

    def line(self) -> str:
        return f"{self.allowed}" + (f" · {self.description}" if self.description else "")


@lru_cache(maxsize=None)
def _comments(cls: type) -> dict[str, str]:
    """field name -> the comment beside it in the class body (and the comment lines right below it)."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            lines = inspect.getsource(klass).splitlines()
        except (OSError, TypeError):
            continue
        current = None
        for line in lines:
            m = _FIELD.match(line)
            if m and not line.strip().startswith(("def ", "@", "class ", "return")):
                current = m.group(1)
                if m.group("doc"):
                    out[current] = m.group("doc").strip()
                elif current in out and klass is not cls:
                    pass  # a subclass's bare redefinition keeps the base's words
                continue
            c = _CONTINUED.match(line)
            if c and current and current in out:
                out[current] += " " + c.group("doc").strip()
            else:
                current = None
    return out


def _allowed(tp: Any, choices: tuple | None) -> str:
    if choices:
        return " | ".join(str(c) for c in choices)
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(str(c) for c in get_args(tp))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [_allowed(a, None) for a in get_args(tp) if a is not type(None)]
        return " | ".join(parts) + (" | null" if type(None) in get_args(tp) else "")
    if tp is bool:
        return "true | false"
    if origin in (tuple, list):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return f"list of {_allowed(args[0], None) if args else 'values'}"
    if isinstance(tp, type):
        return {"int": "integer", "float": "number", "str": "text"}.get(tp.__name__, tp.__name__)
    return str(tp).replace("typing.", "")


def field_docs(cls: type, prefix: str = "") -> list[FieldDoc]:
    """Every key of a config class (nested configs flattened with dots), in declaration order."""
    hints = get_type_hints(cls)
    comments = _comments(cls)
    choices_of = getattr(cls, "CHOICES", {}) or {}
    out: list[FieldDoc] = []
    for f in dataclasses.fields(cls):
        tp = hints.get(f.name, f.type)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            out.extend(field_docs(tp, f"{prefix}{f.name}."))
            continue
        choices = choices_of.get(f.name)
        if callable(choices):
            choices = tuple(choices())
        out.append(FieldDoc(f"{prefix}{f.name}", _allowed(tp, choices), comments.get(f.name, "")))
    return out


def doc_for(cls: type, key: str) -> FieldDoc | None:
    return next((d for d in field_docs(cls) if d.key == key), None)


def commented_yaml(data: dict[str, Any], cls: type) -> str:
    """`data` (a config as plain data) as YAML with each key's allowed values and description as a comment
    above it; reads back to the same data."""
    docs = {d.key: d for d in field_docs(cls)}
    lines: list[str] = []

    def emit(mapping: dict[str, Any], prefix: str, indent: int) -> None:
        pad = " " * indent
        for key, value in mapping.items():
            doc = docs.get(prefix + key)
            if doc is not None:
                lines.append(f"{pad}# {doc.line()}")
            if isinstance(value, dict) and value:
                lines.append(f"{pad}{key}:")
                emit(value, f"{prefix}{key}.", indent + 2)
            else:
                text = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False, width=1000).rstrip()
                lines.extend(pad + part for part in text.splitlines())

    emit(data, "", 0)
    return "\n".join(lines) + "\n"
