"""One registry for everything Winnow builds by name: encoders, generators, mask providers,
architectures, attacks, attribute edits, corruptions, explainers and pruning methods.

An entry is a factory with metadata (an architecture's default input size, a corruption's subset).
It is added eagerly, ``@REGISTRY.register("name", **metadata)`` on the factory, or lazily,
``REGISTRY.register_lazy("name", "package.module:attr", **metadata)``: a lazy entry's module is
imported by the first ``get``, so a web process lists names and metadata (forms, API choices,
parameter checks) without importing torch or OpenCV. Built-in entries are lazy and declared in a
torch-free module per app (``*/ml/*registry*.py``); tests add eager ones.

Every registry raises the same ``UnknownNameError`` for a name it does not hold. It subclasses
KeyError and ValueError because the per-kind registries it replaced raised one or the other, and
callers still catch them. This module imports nothing from Django or the apps: ``ml/`` packages use it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """No entry of this kind has this name; the message names the kind, the name and the sorted choices
    (and the registry's hint on how names are spelt, if it has one)."""

    def __init__(self, kind: str, name: str, choices: Iterable[str], hint: str = "") -> None:
        self.kind, self.name, self.choices, self.hint = kind, name, tuple(sorted(choices)), hint
        message = f"unknown {kind} {name!r}; known: {', '.join(self.choices) or 'none'}"
        super().__init__(f"{message} ({hint})" if hint else message)

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[UnknownNameError], tuple[str, str, tuple[str, ...], str]]:
        return type(self), (self.kind, self.name, self.choices, self.hint)


@dataclass
class _Entry:
    metadata: Mapping[str, Any]
    factory: Any = None  # None until a lazy entry is imported
    target: str = ""  # "module:attr" for a lazy entry

    def same_as(self, other: _Entry) -> bool:
        """Whether registering ``other`` again is harmless: the same target (or factory) and metadata."""
        if dict(self.metadata) != dict(other.metadata) or self.target != other.target:
            return False
        return bool(self.target) or self.factory is other.factory


class Registry(Generic[T]):
    """Factories of one kind by name, in registration order. ``kind`` names them in error messages, and
    ``hint`` (e.g. ``"clipseg:<hub id or folder>"`` where names take an argument) ends those messages."""

    def __init__(self, kind: str, *, hint: str = "") -> None:
        self.kind, self.hint = kind, hint
        self._entries: dict[str, _Entry] = {}

    def register(self, name: str, **metadata: Any) -> Callable[[T], T]:
        """Decorator: register the factory it decorates under ``name`` (returned unchanged)."""

        def decorate(factory: T) -> T:
            self._add(name, _Entry(MappingProxyType(dict(metadata)), factory=factory))
            return factory

        return decorate

    def register_lazy(self, name: str, target: str, **metadata: Any) -> None:
        """Register ``"package.module:attr"`` under ``name``; the module is imported by the first ``get``."""
        module, _, attr = target.partition(":")
        if not module or not attr:
            raise ValueError(f"a lazy {self.kind} entry names 'package.module:attr', not {target!r}")
        self._add(name, _Entry(MappingProxyType(dict(metadata)), target=target))

    def _add(self, name: str, entry: _Entry) -> None:
        known = self._entries.get(name)
        if known is None:
            self._entries[name] = entry
        elif not known.same_as(entry):  # a module imported twice registers the same entry again: harmless
            raise ValueError(f"{self.kind} {name!r} is already registered")

    def names(self) -> tuple[str, ...]:
        """Every registered name in registration order; imports nothing."""
        return tuple(self._entries)

    def check(self, name: str) -> str:
        """``name`` if it is registered, else UnknownNameError; imports nothing."""
        self._entry(name)
        return name

    def metadata(self, name: str) -> Mapping[str, Any]:
        """The read-only metadata ``name`` was registered with; imports nothing."""
        return self._entry(name).metadata

    def get(self, name: str) -> T:
        """The factory registered as ``name``, importing its module first for a lazy entry."""
        entry = self._entry(name)
        if entry.factory is None:
            module, _, attr = entry.target.partition(":")
            factory: Any = importlib.import_module(module)
            for part in attr.split("."):
                factory = getattr(factory, part)
            entry.factory = factory
        return entry.factory  # type: ignore[no-any-return]

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``get(name)(*args, **kwargs)``."""
        return self.get(name)(*args, **kwargs)  # type: ignore[operator]

    def _entry(self, name: str) -> _Entry:
        try:
            return self._entries[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name, which no entry has either
            raise UnknownNameError(self.kind, str(name), self._entries, self.hint) from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
