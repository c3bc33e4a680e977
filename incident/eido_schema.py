"""NENA's EIDO JSON schema, read once per process: validation, and properties it does not define.

NENA publishes the EIDO as an OpenAPI 3.0 document (`data/nena-eido/openapi.yaml`) whose NIEM types
are in other files (`NIEMComponents/*.yaml`), referenced by paths relative to the referencing file.
OpenAPI 3.0's schema objects are JSON Schema draft 4 with a few annotations more, so a draft-4
validator reads them as they are, once two things are seen to:

- references are followed across the files through a `referencing` registry that loads each file
  the first time a document needs it (most EIDOs never touch the 3 MB of NIEM);
- every YAML scalar is read as text, so that a country code NO or an enum value 1.0 stays a string
  as in JSON, and the numeric bounds, which some NIEM files write as text ("1,"), become numbers.

The schema leaves `additionalProperties` open: a misspelt or invented property passes validation and
a receiving system silently ignores it. `unknown_properties` finds every property name the schema
does not define where it is used.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import jsonschema
import yaml
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from incident.validation import Path as KeyPath
from incident.validation import dotted

if TYPE_CHECKING:
    from referencing._core import Resolver  # the package exports the class only for typing

PACKAGED = Path(__file__).resolve().parent / "data" / "nena-eido"
DOCUMENT_TYPE = "EmergencyIncidentDataObjectType"

try:  # the C loader is several times faster; the pure-Python one is a fine fallback
    _Loader: type[yaml.BaseLoader] = yaml.CBaseLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.BaseLoader

_NUMBERS = frozenset(
    {"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties", "minimum",
     "maximum", "multipleOf"}
)  # fmt: skip
_FLAGS = frozenset({"uniqueItems", "exclusiveMinimum", "exclusiveMaximum", "nullable", "readOnly"})
_SUBSCHEMA = frozenset({"items", "not", "additionalProperties", "additionalItems"})
_SUBSCHEMAS = frozenset({"allOf", "anyOf", "oneOf"})
_MESSAGE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class EidoSchema:
    """A folder of NENA's files, ready: the validator, and a resolver at the EIDO type for the walk."""

    validator: jsonschema.Draft4Validator
    resolver: Resolver[Any]
    root: dict[str, Any]  # {"$ref": …EmergencyIncidentDataObjectType}


@functools.cache
def load(folder: Path = PACKAGED) -> EidoSchema:
    """NENA's schema in `folder` (openapi.yaml and NIEMComponents/), built once per process."""
    base = folder.resolve().as_uri() + "/"
    root = {"$ref": f"{base}openapi.yaml#/components/schemas/{DOCUMENT_TYPE}"}
    retrieve = functools.partial(_retrieve, folder.resolve())
    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]  # attrs' alias
    validator = jsonschema.Draft4Validator(root, registry=registry, format_checker=_FORMATS)
    return EidoSchema(validator, registry.resolver(), root)


def first_error(document: Any, folder: Path = PACKAGED) -> tuple[str, str] | None:
    """Where `document` breaks NENA's schema first (a path like `callComponent[0].direction`), and how.

    None when it is a valid EmergencyIncidentDataObjectType. A missing property is named in the path.
    """
    error = best_match(load(folder).validator.iter_errors(document))
    if error is None:
        return None
    path: KeyPath = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        path.append(missing[0] if missing else "")
    message = error.message
    if len(message) > _MESSAGE_LIMIT:
        message = message[: _MESSAGE_LIMIT - 1] + "…"
    return dotted(path), message


def unknown_properties(document: Any, folder: Path = PACKAGED) -> list[str]:
    """The paths of the properties in `document` that NENA's schema does not define where they stand.

    A property counts as defined if the schema at that place (with its `allOf`, `anyOf` and `oneOf`
    parts and the types they reference) names it under `properties`.
    """
    schema = load(folder)
    found: list[str] = []
    _walk(schema.resolver, schema.root, document, [], found)
    return list(dict.fromkeys(found))


def _walk(resolver: Resolver[Any], schema: Any, instance: Any, path: KeyPath, found: list[str]) -> None:
    parts = list(_parts(resolver, schema))
    if isinstance(instance, dict):
        defined: dict[str, list[tuple[Resolver[Any], Any]]] = {}
        for at, part in parts:
            for name, subschema in part.get("properties", {}).items():
                defined.setdefault(name, []).append((at, subschema))
        for name, value in instance.items():
            if name not in defined:
                found.append(dotted([*path, name]))
            for at, subschema in defined.get(name, []):
                _walk(at, subschema, value, [*path, name], found)
    elif isinstance(instance, list):
        for at, part in parts:
            items = part.get("items")
            if isinstance(items, dict):
                for index, item in enumerate(instance):
                    _walk(at, items, item, [*path, index], found)


def _parts(resolver: Resolver[Any], schema: Any) -> Iterator[tuple[Resolver[Any], dict[str, Any]]]:
    """The schema and every schema it is made of (references followed), each with its resolver."""
    pending, seen = [(resolver, schema)], set()
    while pending:
        at, part = pending.pop()
        while isinstance(part, dict) and "$ref" in part:
            resolved = at.lookup(part["$ref"])
            at, part = resolved.resolver, resolved.contents
        if not isinstance(part, dict) or id(part) in seen:
            continue
        seen.add(id(part))
        yield at, part
        pending.extend((at, sub) for key in _SUBSCHEMAS for sub in part.get(key, []))


def _retrieve(folder: Path, uri: str) -> Resource[Any]:
    """A file of the schema by its URI; only files inside `folder`."""
    parts = urlsplit(uri)
    path = Path(posixpath.normpath(unquote(parts.path)))  # NENA writes one path with "//"
    if parts.scheme != "file" or not path.is_relative_to(folder) or not path.is_file():
        raise LookupError(f"not a file of NENA's schema: {uri}")
    return DRAFT4.create_resource(_read(path))


@functools.cache
def _read(path: Path) -> dict[str, Any]:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - BaseLoader builds only text, lists and maps
    schemas = document.get("components", {}).get("schemas", {})
    document.setdefault("components", {})["schemas"] = {name: _typed(s) for name, s in schemas.items()}
    return dict(document)


def _typed(schema: Any) -> Any:
    """A schema read as text, with its numeric bounds and flags as JSON Schema wants them."""
    if not isinstance(schema, dict):
        return schema
    typed: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            typed[key] = {name: _typed(subschema) for name, subschema in value.items()}
        elif key in _SUBSCHEMAS and isinstance(value, list):
            typed[key] = [_typed(subschema) for subschema in value]
        elif key in _SUBSCHEMA:
            typed[key] = _flag(value) if isinstance(value, str) else _typed(value)
        elif key in _NUMBERS and isinstance(value, str):
            typed[key] = _number(value)
        elif key in _FLAGS and isinstance(value, str):
            typed[key] = _flag(value)
        else:
            typed[key] = value
    if typed.get("type") in ("number", "integer") and isinstance(typed.get("enum"), list):
        typed["enum"] = [_number(value) for value in typed["enum"]]
    return typed


def _number(text: str) -> int | float:
    cleaned = text.strip().rstrip(",").strip()
    number = float(cleaned)
    return int(number) if number.is_integer() and "." not in cleaned else number


def _flag(text: str) -> bool:
    return text.strip().lower() == "true"


_FORMATS = jsonschema.FormatChecker(formats=())
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """An RFC 3339 time, with its offset, that is a real moment (no 25th hour, no 31 April)."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True
