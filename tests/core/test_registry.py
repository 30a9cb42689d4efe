"""The generic registry: one error for an unknown name, lazy entries imported by the first get, no duplicates."""

import pickle
import re
import sys
import textwrap

import pytest

from core.registry import Registry, UnknownNameError

LAZY_MODULE = "tests_core_registry_lazy_target"


@pytest.fixture
def lazy_module(tmp_path, monkeypatch):
    """A module on sys.path that no test has imported, with a factory to register lazily."""
    (tmp_path / f"{LAZY_MODULE}.py").write_text(
        textwrap.dedent(
            """
            class Shapes:
                @staticmethod
                def square(side=2):
                    return side * side
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, LAZY_MODULE, raising=False)
    yield LAZY_MODULE
    sys.modules.pop(LAZY_MODULE, None)


def test_an_unknown_name_raises_one_error_naming_the_kind_the_name_and_the_sorted_choices():
    registry = Registry("widget")
    registry.register("zeta")(dict)
    registry.register("alpha")(list)

    with pytest.raises(UnknownNameError) as caught:
        registry.get("beta")

    assert str(caught.value) == "unknown widget 'beta'; known: alpha, zeta"
    assert (caught.value.kind, caught.value.name, caught.value.choices) == ("widget", "beta", ("alpha", "zeta"))
    # the registries it replaced raised KeyError or ValueError, which callers still catch
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)
    assert caught.value.args == ("unknown widget 'beta'; known: alpha, zeta",)
    for call in (registry.metadata, registry.check, registry.create):
        with pytest.raises(UnknownNameError, match="unknown widget 'beta'"):
            call("beta")


def test_an_empty_registry_says_it_knows_none_and_the_error_survives_pickling():
    error = UnknownNameError("gadget", "x", [])

    assert str(error) == "unknown gadget 'x'; known: none"
    # (a worker pool sends a job's exception to its parent pickled)
    assert str(pickle.loads(pickle.dumps(error))) == "unknown gadget 'x'; known: none"  # noqa: S301


def test_a_registry_hint_ends_the_message():
    registry = Registry("mask provider", hint="clipseg:<hub id or folder>")
    registry.register_lazy("clipseg", "json:loads")

    with pytest.raises(UnknownNameError) as caught:
        registry.check("grabcut")

    assert str(caught.value) == "unknown mask provider 'grabcut'; known: clipseg (clipseg:<hub id or folder>)"
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)  # noqa: S301


def test_a_lazy_entry_gives_names_and_metadata_without_importing_its_module(lazy_module):
    registry = Registry("shape")
    registry.register_lazy("square", f"{lazy_module}:Shapes.square", sides=4)

    assert registry.names() == ("square",)
    assert dict(registry.metadata("square")) == {"sides": 4}
    assert registry.check("square") == "square"
    assert "square" in registry and len(registry) == 1 and list(registry) == ["square"]
    assert lazy_module not in sys.modules

    factory = registry.get("square")

    assert lazy_module in sys.modules
    assert factory is sys.modules[lazy_module].Shapes.square
    assert registry.create("square", side=3) == 9


def test_metadata_is_read_only():
    registry = Registry("widget")
    registry.register("a", size=1)(dict)

    with pytest.raises(TypeError):
        registry.metadata("a")["size"] = 2  # type: ignore[index]


def test_names_keep_the_registration_order():
    registry = Registry("edit")
    for name in ("null", "swap", "scale"):
        registry.register(name)(dict)

    assert registry.names() == ("null", "swap", "scale")


def test_registering_another_factory_or_target_under_a_taken_name_is_an_error():
    registry = Registry("widget")
    registry.register("a")(dict)
    registry.register_lazy("b", "json:dumps")

    with pytest.raises(ValueError, match="widget 'a' is already registered"):
        registry.register("a")(list)
    with pytest.raises(ValueError, match="widget 'a' is already registered"):
        registry.register_lazy("a", "json:loads")
    with pytest.raises(ValueError, match="widget 'b' is already registered"):
        registry.register_lazy("b", "json:loads")
    with pytest.raises(ValueError, match="widget 'a' is already registered"):
        registry.register("a", size=2)(dict)
    assert registry.get("a") is dict


def test_registering_the_same_entry_again_is_harmless():
    # a module imported twice (under two names) registers its entries again
    registry = Registry("widget")
    registry.register("a", size=1)(dict)
    registry.register("a", size=1)(dict)
    registry.register_lazy("b", "json:dumps")
    registry.register_lazy("b", "json:dumps")

    assert registry.names() == ("a", "b")


def test_a_lazy_target_must_name_a_module_and_an_attribute():
    registry = Registry("widget")

    with pytest.raises(ValueError, match=re.escape("names 'package.module:attr', not 'json.dumps'")):
        registry.register_lazy("a", "json.dumps")
    assert registry.names() == ()


def test_non_string_names_are_unknown_not_a_crash():
    registry = Registry("widget")
    registry.register("a")(dict)

    assert {"a": 1} not in registry
    with pytest.raises(UnknownNameError, match=r"unknown widget \"\{'a': 1\}\""):
        registry.get({"a": 1})  # type: ignore[arg-type]
