# Over 300 lines: one declaration feeds four surfaces (dataclass, DRF serializer, Django form, argparse options)
# that must stay in step, so their builders sit together.
"""One parameter source per job kind (issue #18): a frozen dataclass whose fields say everything.

A job kind's parameters are declared once, with `param(...)` carrying the help, the bounds, the
choices and the default (taken from the ML config, never retyped):

    @dataclass(frozen=True)
    class ClusterParams:
        version_id: int = param(cli="version_id", name="version", page=False, help="Id of the version.")
        n_clusters: int | None = param(None, min=1, aliases=("k",), default_text="round(√(n / 2))")
        niter: int = param(KMeansConfig.niter, min=1, help="k-means iterations.")

and everything else is generated from that declaration:

- `params_serializer(Cls)`: the API's input serializer (one field per parameter, old names as
  write-only aliases, `as_values()` / `as_params()` on the validated data);
- `params_form(Cls)`: the page's form (initial values are the defaults, `values()` fills empty
  entries with them);
- `add_params_arguments(parser, Cls)` and `params_from_options(options, Cls)`: a management
  command's options (`--name`, aliases as more flags, booleans as `--x/--no-x`);
- `params_from_data(Cls, data)`: a dict (job params, API data, options) checked and turned into
  the dataclass; every refusal is a `ParamError` (an ApplicationError) whose message and
  `details["field"]` name the parameter.

Help texts end with the bounds and the default, written from the declaration. Bounds are checked
by `params_check` (called by `params_from_data`) with each parameter's own error code, so the API,
the pages and the commands refuse a value with the same code and message. The serializer leaves
bounds to that check (its fields are typed only), which keeps the codes the API answered with.

This module imports no app: choices that come from a registry are given as a callable, called
when a serializer, form or parser is built.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from core.api_errors import ApplicationError

METADATA_KEY = "winnow_param"
Choices = Sequence[Any] | Callable[[], Sequence[Any]]


class ParamError(ApplicationError):
    """A parameter was refused; `field` (also details["field"]) is its public name."""

    def __init__(self, field: str, message: str, *, code: str = "invalid_parameter"):
        super().__init__(message, code=code, details={"field": field})
        self.field = field


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """What `param(...)` records about one dataclass field (see `param`)."""

    help: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    choices: Choices | None = None
    name: str | None = None
    aliases: tuple[str, ...] = ()
    cli: str | None = None
    cli_aliases: tuple[str, ...] = ()
    label: str | None = None
    code: str = "invalid_parameter"
    message: str | None = None
    default_text: str | None = None
    page: bool = True
    api: bool = True
    command: bool = True
    api_enum: bool = True
    cli_enum: bool = True
    api_bounds: bool = False
    row: bool = False
    queryset: Callable[[], Any] | None = None
    lines: bool = False
    default_by: tuple[str, Mapping[Any, Any]] | None = None


@dataclasses.dataclass(frozen=True)
class ParamField:
    """One parameter as the generators see it: the dataclass field, its spec and its resolved type."""

    attr: str  # the dataclass field name (the key in job params)
    name: str  # the public name: API field, form field, CLI dest
    spec: ParamSpec
    base: type  # int, float, str or bool (the item type when `multiple`)
    nullable: bool
    multiple: bool
    default: Any  # dataclasses.MISSING when required
    mapping: bool = False  # a dict: names -> the value type (`multiple`: a list of `base`)

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    def choice_values(self) -> list[Any] | None:
        pairs = self.choice_pairs()
        return None if pairs is None else [value for value, _ in pairs]

    def choice_pairs(self) -> list[tuple[Any, str]] | None:
        choices = self.spec.choices
        if choices is None:
            return None
        listed = choices() if callable(choices) else choices
        return [tuple(c) if isinstance(c, (tuple, list)) else (c, str(c)) for c in listed]  # type: ignore[misc]

    @property
    def label(self) -> str:
        return self.spec.label or self.name.replace("_", " ").capitalize()

    @property
    def cli_flags(self) -> list[str]:
        first = self.spec.cli or f"--{self.name.replace('_', '-')}"
        flags = [first, *self.spec.cli_aliases]
        if first.startswith("-"):
            flags += [f"--{alias.replace('_', '-')}" for alias in self.spec.aliases]
        return list(dict.fromkeys(flags))

    @property
    def positional(self) -> bool:
        return not self.cli_flags[0].startswith("-")


def param(
    default: Any = dataclasses.MISSING,
    *,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    min_exclusive: bool = False,
    max_exclusive: bool = False,
    choices: Choices | None = None,
    name: str | None = None,
    aliases: Iterable[str] = (),
    cli: str | None = None,
    cli_aliases: Iterable[str] = (),
    label: str | None = None,
    code: str = "invalid_parameter",
    message: str | None = None,
    default_text: str | None = None,
    page: bool = True,
    api: bool = True,
    command: bool = True,
    api_enum: bool = True,
    cli_enum: bool = True,
    api_bounds: bool = False,
    row: bool = False,
    queryset: Callable[[], Any] | None = None,
    lines: bool = False,
    default_by: tuple[str, Mapping[Any, Any]] | None = None,
) -> Any:
    """A dataclass field of a job kind's parameters.

    default: the value when none is given (take it from the ML config); omitted: required.
        A list default is stored as a tuple (the dataclasses are frozen).
    help: one sentence; the bounds and the default are appended by `param_help`.
    min, max (and min_exclusive, max_exclusive): bounds of a number, checked by `params_check`.
    choices: allowed values (or (value, label) pairs), or a callable returning them, called when a
        serializer, form or parser is built (a registry's public listing function).
    name: the public name on the API, the form and the command (default: the field name);
        aliases: other names the API and the command also accept (old names).
    cli: the command's flag (default `--public-name`), or a name without dashes for a positional
        argument; cli_aliases: more flags.
    label: the form's label; code: the error code of a value out of bounds or choices; message: the
        refusal of a value out of bounds or choices, formatted with {name}, {verb} ("be" or "lie"),
        {bounds} ("in (0, 1]", "at least 1", "one of a, b") and {value} (default
        "{name} must {verb} {bounds}, got {value!r}.");
    default_text: how the default is written in help texts (e.g. "round(√(n / 2))" for None).
    page, api, command: whether the form, the serializer and the command have the parameter
        (page=False for what the page takes from its URL, such as the version).
    api_enum: False keeps the API field a plain string whose choices `params_check` refuses with
        `code` (an API that took a free string before keeps its schema and its error code); cli_enum:
        the same for the command's option (argparse would otherwise refuse a value with its usage line).
    api_bounds: True gives the API field the inclusive bounds as DRF min_value/max_value (the schema's
        minimum/maximum; a refusal is then a validation_error), for an API that had them.
    row: a field of a run's request itself (its row's column: the model, the version, the suites), not a key
        of the job's `params` (jobs.runs: `params_defaults` leaves it out; the start API has it beside `params`).
    queryset: a related row by id (annotate `int`): a callable returning the rows to pick from; the API
        takes the id (PrimaryKeyRelatedField), the form is a select, the command takes the id
        (`params_related_get` turns it into the row). `default_text` is the select's empty choice.
    Multiple values: annotate the field `tuple[str, ...]` (or list[...]); the form and the command take
        them as a comma list (the command also as a repeated flag), "none" for an empty one.
    lines: a multiple parameter whose items may hold commas (prompt contexts): the API takes a JSON list, the
        form one item per line, the command one item per flag (repeated) or a JSON list; "none": an empty one.
    A mapping: annotate `dict[str, tuple[str, ...]]` (or `dict[str, int]`, ...) with a dict default; the API
        takes a JSON object, the form one `key = value` line per entry (a comma list when the values are
        lists), the command a repeated `--name KEY=VALUE` or a JSON object. A key given twice (two lines, two
        flags) adds its values to the first's when they are lists; a scalar's last value wins.
    default_by: the default depends on another parameter: `("mode", {"img2img": 0.6, "inpaint": 1.0})` gives
        0.6 when mode is img2img and the parameter is not given; other values of mode keep `default`. The
        surfaces show `default` (the page cannot know the other value yet); `params_from_data` and
        `params_from_options` resolve it, and the help texts write it ("img2img 0.6, inpaint 1.0").
    """
    if isinstance(default, list):
        default = tuple(default)
    spec = ParamSpec(
        help=help,
        min=min,
        max=max,
        min_exclusive=min_exclusive,
        max_exclusive=max_exclusive,
        choices=choices,
        name=name,
        aliases=tuple(aliases),
        cli=cli,
        cli_aliases=tuple(cli_aliases),
        label=label,
        code=code,
        message=message,
        default_text=default_text,
        page=page,
        api=api,
        command=command,
        api_enum=api_enum,
        cli_enum=cli_enum,
        api_bounds=api_bounds,
        row=row,
        queryset=queryset,
        lines=lines,
        default_by=(default_by[0], dict(default_by[1])) if default_by is not None else None,
    )
    if isinstance(default, dict):  # a dataclass takes no mutable default: each instance gets a copy
        return dataclasses.field(default_factory=lambda: dict(default), metadata={METADATA_KEY: spec})
    return dataclasses.field(default=default, metadata={METADATA_KEY: spec})


# --- introspection -----------------------------------------------------------------------------------


def _resolve_type(annotation: Any) -> tuple[type, bool, bool, bool]:
    """(base type, nullable, multiple, mapping) of an annotation such as `int | None`, `tuple[str, ...] | None`
    or `dict[str, tuple[str, ...]]`."""
    nullable = False
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        nullable = type(None) in args
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported parameter type {annotation!r}")
        annotation, args = rest[0], typing.get_args(rest[0])
    mapping = typing.get_origin(annotation) in (dict, Mapping)
    if mapping:
        if args[0] is not str:
            raise TypeError(f"a mapping parameter's keys are strings, not {args[0]!r}")
        annotation, args = args[1], typing.get_args(args[1])
    multiple = typing.get_origin(annotation) in (tuple, list)
    if multiple:
        annotation = args[0]
    if annotation not in (int, float, str, bool):
        raise TypeError(f"unsupported parameter type {annotation!r}")
    return annotation, nullable, multiple, mapping


def params_fields(params_cls: type) -> list[ParamField]:
    """The parameters of a params dataclass, in declaration order (fields without `param` get a bare spec)."""
    hints = typing.get_type_hints(params_cls)
    result = []
    for f in dataclasses.fields(params_cls):
        spec = f.metadata.get(METADATA_KEY, ParamSpec())
        base, nullable, multiple, mapping = _resolve_type(hints[f.name])
        default = f.default
        if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        result.append(ParamField(f.name, spec.name or f.name, spec, base, nullable, multiple, default, mapping))
    return result


def _number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def param_bounds_text(field: ParamField) -> str:
    """'In (0, 1].', 'At least 1.', '' ... written from the declared bounds."""
    low, high = field.spec.min, field.spec.max
    if low is not None and high is not None:
        left, right = "(" if field.spec.min_exclusive else "[", ")" if field.spec.max_exclusive else "]"
        return f"In {left}{_number_text(low)}, {_number_text(high)}{right}."
    if low is not None:
        return f"{'Above' if field.spec.min_exclusive else 'At least'} {_number_text(low)}."
    if high is not None:
        return f"{'Below' if field.spec.max_exclusive else 'At most'} {_number_text(high)}."
    return ""


def param_default_text(field: ParamField) -> str:
    """The default as help texts write it ('' for a required parameter)."""
    if field.spec.default_text is not None:
        return field.spec.default_text
    value = field.default
    if field.spec.default_by is not None:
        _, by_value = field.spec.default_by
        cases = [f"{key} {param_default_text(dataclasses.replace(field, spec=_plain_spec(field), default=v))}"
                 for key, v in by_value.items()]  # fmt: skip
        if value not in (None, "", ()):
            cases.append(f"else {param_default_text(dataclasses.replace(field, spec=_plain_spec(field)))}")
        return ", ".join(cases)
    if value is dataclasses.MISSING:
        return ""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "; ".join(param_mapping_lines(value)) or "none"
    if isinstance(value, tuple):
        return ("; " if field.spec.lines else ", ").join(str(v) for v in value) or "none"
    return _number_text(value) if isinstance(value, (int, float)) else str(value)


def _plain_spec(field: ParamField) -> ParamSpec:
    return dataclasses.replace(field.spec, default_by=None, default_text=None)


def param_help(field: ParamField, *, with_default: bool = True) -> str:
    """The declared help, then the bounds, then 'Default: X.' (the same text on every surface)."""
    parts = [field.spec.help.strip()] if field.spec.help else []
    bounds = param_bounds_text(field)
    if bounds:
        parts.append(bounds)
    if with_default and not field.required:
        parts.append(f"Default: {param_default_text(field)}.")
    return " ".join(parts)


# --- checking ----------------------------------------------------------------------------------------

_TRUE = {"true", "1", "yes", "on", "t", "y"}
_FALSE = {"false", "0", "no", "off", "f", "n", ""}


def _coerce_one(field: ParamField, value: Any) -> Any:
    base, name = field.base, field.name
    if field.spec.queryset is not None and hasattr(value, "pk"):
        return value  # a related row, as a form or serializer picked it
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, str)) and str(value).strip().lower() in _TRUE | _FALSE:
                return str(value).strip().lower() in _TRUE
            raise ValueError
        if base is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                return int(value)
            return int(value)
        if base is float:
            if isinstance(value, bool):
                raise ValueError
            number = float(Fraction(value.strip())) if isinstance(value, str) else float(value)  # "2/255"
            if not math.isfinite(number):
                raise ValueError
            return number
        if not isinstance(value, str):
            raise ValueError
        return value
    except (TypeError, ValueError, ZeroDivisionError):
        kind = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}[base]
        raise ParamError(name, f"{name} must be {kind}, got {value!r}.", code="invalid_parameter")


def param_value_check(field: ParamField, value: Any) -> None:
    """Refuse a value outside the declared bounds or choices (ParamError with the field's code)."""
    if value is None:
        return
    if field.mapping:
        for item in value.values():
            param_value_check(dataclasses.replace(field, mapping=False), item)
        return
    for item in value if field.multiple else (value,):
        allowed = field.choice_values()
        if allowed is not None and item not in allowed:
            listed = "one of " + ", ".join(str(a) for a in allowed)
            template = field.spec.message or "{name} must {verb} {bounds}, got {value!r}."
            message = template.format(name=field.name, verb="be", bounds=listed, value=item)
            raise ParamError(field.name, message, code=field.spec.code)
        low, high, spec = field.spec.min, field.spec.max, field.spec
        below = low is not None and (item <= low if spec.min_exclusive else item < low)
        above = high is not None and (item >= high if spec.max_exclusive else item > high)
        if below or above:
            bounds = param_bounds_text(field).rstrip(".")
            bounds = bounds[0].lower() + bounds[1:]
            verb = "lie" if bounds.startswith("in ") else "be"
            template = spec.message or "{name} must {verb} {bounds}, got {value!r}."
            message = template.format(name=field.name, verb=verb, bounds=bounds, value=item)
            raise ParamError(field.name, message, code=spec.code)


def param_items(text: str) -> list[str]:
    """A comma list as the form and the command take a multiple parameter ("none": an empty one)."""
    if text.strip().lower() == "none":
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def param_lines(field: ParamField, text: str) -> list[str]:
    """The items of a `lines` parameter: a JSON list, or one item per non-empty line ("none": an empty list)."""
    text = text.strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise ParamError(field.name, f"{field.name} is not a JSON list: {exc}.")
        if not isinstance(loaded, list):
            raise ParamError(field.name, f"{field.name} must be a list, got {loaded!r}.")
        return [str(item).strip() if isinstance(item, str) else item for item in loaded]
    if text.lower() == "none":
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def _mapping_add(field: ParamField, entries: dict[str, Any], key: str, value: Any) -> None:
    """A key given again: its values added to the first's (list values), or the last wins (scalars)."""
    if field.multiple and key in entries:
        entries[key] = (*entries[key], *(v for v in value if v not in entries[key]))
    else:
        entries[key] = value


def param_mapping_lines(value: Mapping[str, Any]) -> list[str]:
    """A mapping as the form shows it: one `key = value` line per entry (a list as a comma list)."""
    return [
        f"{key} = {', '.join(str(v) for v in item) if isinstance(item, (list, tuple)) else item}"
        for key, item in value.items()
    ]


def param_mapping_parse(field: ParamField, text: str) -> dict[str, Any]:
    """`{"cat": ["indoor"]}` (a JSON object) or `key = value` entries, one per line (or `;`-separated), the
    values typed as declared (a comma list when they are lists); ParamError names the field otherwise."""
    text = text.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise ParamError(field.name, f"{field.name} is not a JSON object: {exc}.")
        return param_coerce(field, loaded)  # type: ignore[no-any-return]
    entries: dict[str, Any] = {}
    for line in (part.strip() for part in text.replace(";", "\n").splitlines()):
        if not line:
            continue
        key, sep, value = line.partition("=") if "=" in line else line.partition(":")
        if not sep or not key.strip():
            raise ParamError(field.name, f"{field.name}: write each entry as KEY=VALUE, got {line!r}.")
        _mapping_add(field, entries, key.strip(), tuple(param_items(value)) if field.multiple else value.strip())
    return param_coerce(field, entries)  # type: ignore[no-any-return]


def param_related_get(field: ParamField, value: Any) -> Any:
    """The row a related parameter's id names (a row stays as it is; None stays); ParamError when none has it."""
    if value is None or hasattr(value, "pk"):
        return value
    assert field.spec.queryset is not None, f"{field.name} is not a related parameter"
    rows = field.spec.queryset()
    row = rows.filter(pk=value).first()
    if row is None:
        raise ParamError(field.name, f"no {rows.model._meta.verbose_name} with id {value}", code="not_found")
    return row


def param_coerce(field: ParamField, value: Any) -> Any:
    """The value typed as declared (a tuple when `multiple`), checked against bounds and choices; None stays."""
    if value is None:
        return None
    if field.mapping:
        if isinstance(value, str):
            return param_mapping_parse(field, value)
        if not isinstance(value, Mapping):
            raise ParamError(field.name, f"{field.name} must be an object (names to values), got {value!r}.")
        item_field = dataclasses.replace(field, mapping=False)
        return {str(key): param_coerce(item_field, item) for key, item in value.items()}
    if field.multiple:
        if isinstance(value, str) and field.spec.lines:
            items: list[Any] = param_lines(field, value)
        else:
            items = [value] if isinstance(value, (str, bytes)) else list(value)
        value = tuple(_coerce_one(field, item) for item in items)
        if field.spec.lines and field.base is str:  # whole items: blank ones dropped, the rest stripped
            value = tuple(item.strip() for item in value if item.strip())
    else:
        value = _coerce_one(field, value)
    param_value_check(field, value)
    return value


def params_check(params: Any) -> None:
    """Check every value of a params instance against its declaration (after a service resolved defaults)."""
    for field in params_fields(type(params)):
        value = getattr(params, field.attr)
        if value is None and not field.nullable and not field.required:
            raise ParamError(field.name, f"{field.name} may not be empty.")
        param_value_check(field, value)


def params_values(
    params_cls: type, data: Mapping[str, Any], *, unknown: str = "error", check_required: bool = True
) -> dict[str, Any]:
    """`data` (keyed by field names, public names or aliases) typed and checked, keyed by field name.

    Parameters absent or None are left out (the dataclass default applies), except required ones,
    which are refused (unless `check_required` is False: a form without the version, say).
    `unknown`: "error" refuses a key no parameter has; "ignore" drops it.
    """
    by_key: dict[str, ParamField] = {}
    for field in params_fields(params_cls):
        for key in (field.attr, field.name, *field.spec.aliases):
            by_key.setdefault(key, field)
    values: dict[str, Any] = {}
    for key, value in data.items():
        found = by_key.get(key)
        if found is None:
            if unknown == "error":
                raise ParamError(key, f"Unknown parameter {key!r}.")
            continue
        if value is None or (found.attr in values and key not in (found.attr, found.name)):
            continue  # an alias never overrides the parameter's own name
        values[found.attr] = param_coerce(found, value)
    for field in params_fields(params_cls) if check_required else ():
        if field.required and values.get(field.attr) is None:
            raise ParamError(field.name, f"{field.name} is required.", code="invalid_parameter")
    return values


def params_defaults_resolve(params_cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` (keyed by field name) with the defaults that depend on another parameter (`default_by`) added
    for the parameters not given (absent, None or blank); the other defaults are left to the dataclass."""
    fields = params_fields(params_cls)
    by_key = {key: f for f in fields for key in (f.attr, f.name)}
    resolved = dict(values)
    for field in fields:
        if field.spec.default_by is None or resolved.get(field.attr) not in (None, ""):
            continue  # (a blank string is not given either: a form's empty entry)
        other_name, by_value = field.spec.default_by
        other = by_key[other_name]
        current = resolved.get(other.attr, None if other.required else other.default)
        if current in by_value:
            resolved[field.attr] = by_value[current]
    return resolved


def params_from_data(params_cls: type, data: Mapping[str, Any], *, unknown: str = "error") -> Any:
    """A params instance from a dict (see `params_values`); defaults come from the dataclass, once (those that
    depend on another parameter from `params_defaults_resolve`)."""
    return params_cls(**params_defaults_resolve(params_cls, params_values(params_cls, data, unknown=unknown)))


# --- DRF serializer ----------------------------------------------------------------------------------


def _serializer_field(field: ParamField, *, alias_of: str | None = None, null_means_default: bool = False) -> Any:
    from rest_framework import serializers  # noqa: PLC0415 - DRF loaded only where a serializer is built (the job side needs none)

    help_text = f"Old name of {alias_of}; use {alias_of}." if alias_of else param_help(field)
    kwargs: dict[str, Any] = {"help_text": help_text}
    enum = field.spec.choices is not None and field.spec.api_enum
    if alias_of or not field.required:
        nullable = field.nullable or alias_of is not None or (null_means_default and not enum)
        kwargs |= {"required": False, "allow_null": nullable}
        if not alias_of and field.default is not None and not field.multiple:
            kwargs["default"] = field.default
    pairs = field.choice_pairs() if enum and not callable(field.spec.choices) else None
    if enum and pairs is None:
        pairs = []  # filled in by the serializer's __init__ (choices from a registry)
    one_of: dict[type, Callable[..., Any]] = {
        int: serializers.IntegerField,
        float: serializers.FloatField,
        str: serializers.CharField,
        bool: serializers.BooleanField,
    }
    if field.spec.queryset is not None:
        return serializers.PrimaryKeyRelatedField(queryset=field.spec.queryset(), **kwargs)
    if field.mapping:  # a JSON object; its values typed as declared (the check is params_check's)
        item = _serializer_field(dataclasses.replace(field, mapping=False, default=dataclasses.MISSING))
        item.help_text = None
        if not alias_of and field.default is not None:
            default = dict(field.default)
            kwargs["default"] = lambda: dict(default)
        return serializers.DictField(child=item, **kwargs)
    if field.base is str and field.default == "" and not field.multiple:
        kwargs["allow_blank"] = True
    if field.multiple:
        child = serializers.ChoiceField(choices=pairs) if pairs is not None else one_of[field.base]()
        if not alias_of and not field.required and field.default is not None:
            kwargs["default"] = list(field.default)
        return serializers.ListField(child=child, **kwargs)
    if pairs is not None:
        return serializers.ChoiceField(choices=pairs, **kwargs)
    if field.spec.api_bounds and field.base in (int, float):
        if field.spec.min is not None and not field.spec.min_exclusive:
            kwargs["min_value"] = field.spec.min
        if field.spec.max is not None and not field.spec.max_exclusive:
            kwargs["max_value"] = field.spec.max
    return one_of[field.base](**kwargs)


def params_serializer(
    params_cls: type, *, name: str | None = None, exclude: Iterable[str] = (), null_means_default: bool = False
) -> type:
    """A DRF input serializer with one field per parameter (public names), aliases as extra optional fields.

    `exclude`: field names or public names left out. `null_means_default`: every optional field also takes
    null for its default (else only those typed `X | None`). The class has `as_values()` (validated data
    keyed by dataclass field names, absent parameters left out) and `as_params()` (the dataclass).
    """
    from rest_framework import serializers  # noqa: PLC0415 - DRF loaded only where a serializer is built (the job side needs none)

    skipped = set(exclude)
    fields = [f for f in params_fields(params_cls) if f.spec.api and not {f.attr, f.name} & skipped]
    attrs: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    for field in fields:
        attrs[field.name] = _serializer_field(field, null_means_default=null_means_default)
        for alias in field.spec.aliases:
            attrs[alias] = _serializer_field(field, alias_of=field.name)
            aliases[alias] = field.name
    registry_choices = {f.name: f for f in fields if callable(f.spec.choices) and f.spec.api_enum}

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        serializers.Serializer.__init__(self, *args, **kwargs)
        for public, field in registry_choices.items():
            pairs = field.choice_pairs()
            for key in (public, *field.spec.aliases):
                target = self.fields[key]
                (target.child if field.multiple else target).choices = pairs

    def to_internal_value(self: Any, data: Any) -> Any:
        if hasattr(data, "getlist"):  # a QueryDict: keep lists whole
            data = data.copy()
            for alias, public in aliases.items():
                if alias in data:
                    values = data.getlist(alias)
                    del data[alias]
                    if public not in data:
                        data.setlist(public, values)
        elif isinstance(data, Mapping):
            data = dict(data)
            for alias, public in aliases.items():
                if alias in data:
                    value = data.pop(alias)
                    data.setdefault(public, value)
        return serializers.Serializer.to_internal_value(self, data)

    def as_values(self: Any) -> dict[str, Any]:
        """The validated data keyed by dataclass field names, typed and checked (see params_values)."""
        public = {f.name: f.attr for f in fields}
        given = {public[key]: value for key, value in self.validated_data.items() if key in public}
        return params_values(params_cls, given, unknown="ignore", check_required=False)

    def given_values(self: Any) -> dict[str, Any]:
        """As `as_values`, but only the parameters the request gave (not the serializer's defaults): for a
        service that puts another source's settings (a slice plan's) between them and the declared defaults."""
        given = {aliases.get(key, key) for key in self.initial_data}
        values = self.as_values()
        return {f.attr: values[f.attr] for f in fields if f.name in given and f.attr in values}

    def as_params(self: Any, **extra: Any) -> Any:
        """The dataclass; `extra` (keyed by field name) supplies what the serializer leaves out."""
        return params_from_data(params_cls, {**self.as_values(), **extra})

    attrs |= {
        "__init__": __init__,
        "to_internal_value": to_internal_value,
        "as_values": as_values,
        "given_values": given_values,
        "as_params": as_params,
        "params_class": params_cls,
        "param_aliases": dict(aliases),
        "__module__": params_cls.__module__,
        "__doc__": None,  # no component description in the OpenAPI schema (the fields carry the help)
    }
    return type(
        name or params_cls.__name__.removesuffix("Params") + "InputSerializer", (serializers.Serializer,), attrs
    )


# --- Django form -------------------------------------------------------------------------------------


def _form_field(field: ParamField, *, empty_multiple_default: bool = False) -> Any:
    from django import forms  # noqa: PLC0415 - Django forms loaded only where a form is built (the job side needs none)

    class ListTextField(forms.CharField):
        """A multiple parameter without choices: a comma list ("none": empty; nothing: the default)."""

        def to_python(self, value: Any) -> Any:
            text = super().to_python(value)
            if not text:
                return None
            try:
                return tuple(_coerce_one(field, item) for item in param_items(text))
            except ParamError as exc:
                raise forms.ValidationError(exc.message, code=exc.code)

        def prepare_value(self, value: Any) -> Any:
            return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value

    class LinesTextField(forms.CharField):
        """A `lines` parameter: one item per line (or a JSON list; "none": empty; nothing: the default)."""

        widget = forms.Textarea(attrs={"rows": 6})

        def to_python(self, value: Any) -> Any:
            text = super().to_python(value)
            if not text:
                return None
            try:
                return param_coerce(field, param_lines(field, text))
            except ParamError as exc:
                raise forms.ValidationError(exc.message, code=exc.code)

        def prepare_value(self, value: Any) -> Any:
            return "\n".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value

    class MappingTextField(forms.CharField):
        """A mapping: one `key = value` line per entry (or a JSON object); nothing: the default."""

        widget = forms.Textarea(attrs={"rows": 3})

        def to_python(self, value: Any) -> Any:
            text = super().to_python(value)
            if not text:
                return None
            try:
                return param_mapping_parse(field, text)
            except ParamError as exc:
                raise forms.ValidationError(exc.message, code=exc.code)

        def prepare_value(self, value: Any) -> Any:
            return "\n".join(param_mapping_lines(value)) if isinstance(value, Mapping) else value

    def check(value: Any) -> None:
        try:
            param_value_check(field, value)
        except ParamError as exc:
            raise forms.ValidationError(exc.message, code=exc.code)

    initial = None if field.required or field.default is None else field.default
    if field.mapping:
        return MappingTextField(
            required=field.required, label=field.label, help_text=param_help(field), initial=initial
        )
    kwargs: dict[str, Any] = {
        "label": field.label,
        "help_text": param_help(field),
        "initial": list(initial) if isinstance(initial, tuple) else initial,
    }
    if field.base is bool and not field.multiple:
        return forms.BooleanField(required=False, **kwargs)
    required = field.required or (field.multiple and bool(field.default) and not empty_multiple_default)
    if field.spec.queryset is not None:
        empty = field.spec.default_text or "---------"
        return forms.ModelChoiceField(queryset=field.spec.queryset(), required=required, empty_label=empty, **kwargs)
    coerce: Callable[[Any], Any] = {int: int, float: float, str: str}[field.base]
    if field.spec.choices is not None:
        pairs: list[tuple[Any, str]] = [] if callable(field.spec.choices) else field.choice_pairs() or []
        if field.multiple:
            return forms.TypedMultipleChoiceField(
                choices=pairs, coerce=coerce, required=required, widget=forms.CheckboxSelectMultiple, **kwargs
            )
        if not required:
            pairs = [("", "—"), *pairs]
        return forms.TypedChoiceField(choices=pairs, coerce=coerce, empty_value=None, required=required, **kwargs)
    if field.multiple:  # empty: the default
        made_list = LinesTextField if field.spec.lines else ListTextField
        return made_list(required=field.required, validators=[check], **kwargs)
    # The bounds go to the browser as min/max attributes and are checked by `check` alone, so a refusal
    # reads the same as on the API and the command (Django's own min_value would add a second message).
    attrs: dict[str, Any] = {"step": "any"} if field.base is float else {}
    if field.base in (int, float):
        attrs |= {"min": field.spec.min} if field.spec.min is not None and not field.spec.min_exclusive else {}
        attrs |= {"max": field.spec.max} if field.spec.max is not None and not field.spec.max_exclusive else {}
    made = {int: forms.IntegerField, float: forms.FloatField, str: forms.CharField}[field.base]
    made_field = made(required=required, validators=[check], **kwargs)
    made_field.widget.attrs |= attrs
    return made_field


def params_form(
    params_cls: type, *, name: str | None = None, exclude: Iterable[str] = (), empty_multiple_default: bool = False
) -> type:
    """A Django form with one field per parameter with page=True (public names; initial = default).

    `values()` on a bound, valid form gives the values keyed by dataclass field names, an empty entry
    taking the default; `params_class` is the dataclass. Choices from a registry are read in __init__.
    `empty_multiple_default`: a multiple parameter left empty takes its default (else one with a default
    must be given), as the API and the command do.
    """
    from django import forms  # noqa: PLC0415 - Django forms loaded only where a form is built (the job side needs none)

    skipped = set(exclude)
    fields = [f for f in params_fields(params_cls) if f.spec.page and not {f.attr, f.name} & skipped]
    attrs: dict[str, Any] = {f.name: _form_field(f, empty_multiple_default=empty_multiple_default) for f in fields}
    registry_choices = [f for f in fields if callable(f.spec.choices)]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        forms.Form.__init__(self, *args, **kwargs)
        for field in registry_choices:
            pairs = field.choice_pairs() or []
            if not field.multiple and not self.fields[field.name].required:
                pairs = [("", "—"), *pairs]
            self.fields[field.name].choices = pairs

    def values(self: Any) -> dict[str, Any]:
        """The cleaned values keyed by dataclass field names; an empty entry is left out (the default applies)."""
        given: dict[str, Any] = {}
        for field in fields:
            value = self.cleaned_data.get(field.name)
            if value is None or value == "" or (field.multiple and not value and not isinstance(value, tuple)):
                continue  # empty: the default (a comma list's "none" is the empty tuple, kept)
            given[field.attr] = value
        return params_values(params_cls, given, unknown="ignore", check_required=False)

    def params(self: Any, **extra: Any) -> Any:
        """The dataclass; `extra` (keyed by field name) supplies what the page takes from its URL."""
        return params_from_data(params_cls, {**self.values(), **extra})

    attrs |= {
        "__init__": __init__,
        "values": values,
        "params": params,
        "params_class": params_cls,
        "__module__": params_cls.__module__,
        "__doc__": f"Form of {params_cls.__name__}, generated by core.params.",
    }
    return type(name or params_cls.__name__.removesuffix("Params") + "Form", (forms.Form,), attrs)


# --- management command options ---------------------------------------------------------------------


GIVEN_KEY = "params_given"  # the namespace attribute where the generated options record that they were given


class _RecordGiven(argparse.Action):
    """An action that also records its dest in the namespace's `params_given` (see `params_given_from_options`)."""

    def record(self, namespace: Any) -> None:
        setattr(namespace, GIVEN_KEY, {*(getattr(namespace, GIVEN_KEY, None) or ()), self.dest})


class _Store(_RecordGiven):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        self.record(namespace)


class _Boolean(argparse.BooleanOptionalAction, _RecordGiven):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        super().__call__(parser, namespace, values, option_string)
        self.record(namespace)


class _AppendOverDefault(_RecordGiven):
    """`action="extend"` whose default is replaced by the first values given, not added to."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        current = getattr(namespace, self.dest, None)
        items = [] if current is None or current is self.default else list(current)
        setattr(namespace, self.dest, [*items, *values])
        self.record(namespace)


class _MergeMapping(_RecordGiven):
    """A repeated `--name KEY=VALUE` (or a JSON object): the entries merged, the default replaced by the first; a
    key given again adds its values to the first's (list values) or replaces it (a scalar)."""

    field: ParamField

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        current = getattr(namespace, self.dest, None)
        merged = {} if current is None or current is self.default else dict(current)
        for key, value in values.items():
            _mapping_add(self.field, merged, key, value)
        setattr(namespace, self.dest, merged)
        self.record(namespace)


def _mapping_type(field: ParamField) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        try:
            return param_mapping_parse(field, text)
        except ParamError as exc:
            raise argparse.ArgumentTypeError(exc.message)

    parse.__name__ = "mapping"
    return parse


def _lines_type(field: ParamField) -> Callable[[str], list[Any]]:
    """argparse's `type` of a `lines` option: the value is one item (commas kept), or a JSON list of items."""

    def parse(text: str) -> list[Any]:
        try:
            items = param_lines(field, text) if text.strip().startswith("[") else [text]
            return list(param_coerce(field, items))
        except ParamError as exc:
            raise argparse.ArgumentTypeError(exc.message)

    parse.__name__ = field.base.__name__
    return parse


def _items_type(field: ParamField, choices: list[Any] | None) -> Callable[[str], list[Any]]:
    """argparse's `type` of a multiple option: a comma list of typed values, each among `choices`."""

    def parse(text: str) -> list[Any]:
        try:
            items = [_coerce_one(field, item) for item in param_items(text)]
        except ParamError as exc:
            raise argparse.ArgumentTypeError(exc.message)
        wrong = [item for item in items if choices is not None and item not in choices]
        if wrong:
            listed = ", ".join(str(choice) for choice in choices or ())
            raise argparse.ArgumentTypeError(f"invalid choice: {wrong[0]!r} (choose from {listed})")
        return items

    parse.__name__ = field.base.__name__
    return parse


def add_params_arguments(parser: argparse.ArgumentParser, params_cls: type, *, exclude: Iterable[str] = ()) -> None:
    """One option per parameter with command=True: `--public-name` (aliases as more flags), typed, with
    the declared choices and the default written into the help; booleans as `--x/--no-x`; multiple
    values as a comma list or a repeated flag; a `cli` without dashes is a positional argument (a related
    row: its id). The dest is the dataclass field name and the argparse default is the declared default
    (None when required)."""
    skipped = set(exclude)
    for field in params_fields(params_cls):
        if not field.spec.command or {field.attr, field.name} & skipped:
            continue
        help_text = param_help(field).replace("%", "%%")
        choices = field.choice_values() if field.spec.cli_enum else None
        default = None if field.required else field.default
        if field.positional:
            metavar = field.cli_flags[0] if field.cli_flags[0] != field.attr else None
            parser.add_argument(field.attr, type=field.base, choices=choices, help=help_text, metavar=metavar)
            continue
        kwargs: dict[str, Any] = {"dest": field.attr, "help": help_text}
        if field.mapping:
            action = type("MergeMapping", (_MergeMapping,), {"field": field})
            kwargs |= {"action": action, "type": _mapping_type(field), "metavar": "KEY=VALUE"}
            kwargs["default"] = dict(default) if default is not None else None
        elif field.base is bool and not field.multiple:
            kwargs |= {"action": _Boolean, "default": default}
        elif field.multiple and field.spec.lines:
            kwargs |= {"action": _AppendOverDefault, "type": _lines_type(field), "metavar": "TEXT"}
            kwargs["default"] = list(default) if default is not None else None
        elif field.multiple:
            kwargs |= {"action": _AppendOverDefault, "type": _items_type(field, choices)}
            kwargs["default"] = list(default) if default is not None else None
            kwargs["metavar"] = (
                "{" + ",".join(str(c) for c in choices) + "}" if choices else field.base.__name__.upper()
            )
        else:
            kwargs |= {"action": _Store, "type": field.base, "choices": choices, "default": default}
            kwargs["required"] = field.required
        parser.add_argument(*field.cli_flags, **kwargs)


def params_values_from_options(options: Mapping[str, Any], params_cls: type) -> dict[str, Any]:
    """The parsed options of `add_params_arguments` as checked values keyed by field name (None left out)."""
    attrs = {f.attr for f in params_fields(params_cls) if f.spec.command}
    return params_values(params_cls, {k: v for k, v in options.items() if k in attrs}, unknown="ignore")


def params_given_from_options(options: Mapping[str, Any], params_cls: type) -> dict[str, Any]:
    """As `params_values_from_options`, but only the options given (on the command line, or by `call_command`
    with another value than the default): for a command that puts another source's settings (a slice plan's)
    between them and the declared defaults. Positional arguments are always given."""
    given = set(options.get(GIVEN_KEY) or ())
    picked: dict[str, Any] = {}
    for field in params_fields(params_cls):
        value = options.get(field.attr)
        if not field.spec.command or value is None:
            continue
        if field.attr in given or field.positional or param_coerce(field, value) != field.default:
            picked[field.attr] = value
    return params_values(params_cls, picked, unknown="ignore", check_required=False)


def params_from_options(options: Mapping[str, Any], params_cls: type) -> Any:
    """The params dataclass from a command's options (see `add_params_arguments`)."""
    return params_cls(**params_defaults_resolve(params_cls, params_values_from_options(options, params_cls)))
