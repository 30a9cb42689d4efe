"""core.params: one dataclass declaration gives the serializer, the form, the command options and the checks."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest
from django.http import QueryDict

from core.params import (
    ParamError,
    add_params_arguments,
    param,
    param_help,
    params_check,
    params_fields,
    params_form,
    params_from_data,
    params_from_options,
    params_given_from_options,
    params_serializer,
)

COLOURS = ["red", "green"]
INVALID = "invalid_parameter"


def colour_choices() -> list[tuple[str, str]]:
    return [(c, c.title()) for c in COLOURS]


@dataclass(frozen=True)
class ExampleParams:
    version_id: int = param(name="version", cli="version_id", page=False, help="Id of the version.")
    method: str = param(choices=("a", "b"), help="Which method.")
    n_clusters: int | None = param(None, min=1, aliases=("k",), default_text="automatic", code="invalid_k")
    keep_fraction: float = param(0.5, min=0.0, max=1.0, min_exclusive=True, code="invalid_keep_fraction")
    niter: int = param(20, min=1, help="Iterations.")
    exact_first: bool = param(True, help="Exact copies first.")
    per_class: bool = param(False)
    splits: tuple[str, ...] = param(("train",), choices=("train", "val", "test"), cli="--split")
    colour: str | None = param(None, choices=colour_choices)
    embedding_set_id: int | None = param(None, name="embedding_set", cli="--embeddings")


def test_help_appends_bounds_and_default():
    fields = {f.attr: f for f in params_fields(ExampleParams)}

    assert param_help(fields["keep_fraction"]) == "In (0, 1]. Default: 0.5."
    assert param_help(fields["niter"]) == "Iterations. At least 1. Default: 20."
    assert param_help(fields["n_clusters"]) == "At least 1. Default: automatic."
    assert param_help(fields["exact_first"]) == "Exact copies first. Default: true."
    assert param_help(fields["splits"]) == "Default: train."
    assert param_help(fields["version_id"]) == "Id of the version."


def test_from_data_applies_defaults_once_and_accepts_names_and_aliases():
    params = params_from_data(ExampleParams, {"version": "3", "method": "a", "k": 4, "splits": ["val", "test"]})

    assert params == ExampleParams(version_id=3, method="a", n_clusters=4, splits=("val", "test"))
    assert params.keep_fraction == 0.5 and params.niter == 20 and params.exact_first is True


def test_from_data_own_name_wins_over_alias():
    params = params_from_data(ExampleParams, {"version_id": 1, "method": "a", "k": 4, "n_clusters": 7})

    assert params.n_clusters == 7


@pytest.mark.parametrize(
    ("data", "field", "code", "message"),
    [
        ({"method": "a"}, "version", "invalid_parameter", "version is required."),
        ({"version": 1, "method": "c"}, "method", "invalid_parameter", "method must be one of a, b, got 'c'."),
        ({"version": 1, "method": "a", "k": 0}, "n_clusters", "invalid_k", "n_clusters must be at least 1, got 0."),
        (
            {"version": 1, "method": "a", "keep_fraction": 0},
            "keep_fraction",
            "invalid_keep_fraction",
            "keep_fraction must lie in (0, 1], got 0.0.",
        ),
        (
            {"version": 1, "method": "a", "niter": "x"},
            "niter",
            "invalid_parameter",
            "niter must be an integer, got 'x'.",
        ),
        (
            {"version": 1, "method": "a", "niter": 2.5},
            "niter",
            "invalid_parameter",
            "niter must be an integer, got 2.5.",
        ),
        ({"version": 1, "method": "a", "splits": ["nope"]}, "splits", "invalid_parameter", None),
        ({"version": 1, "method": "a", "bogus": 1}, "bogus", "invalid_parameter", "Unknown parameter 'bogus'."),
    ],
)
def test_from_data_refusals_name_the_field(data, field, code, message):
    with pytest.raises(ParamError) as caught:
        params_from_data(ExampleParams, data)

    assert (caught.value.field, caught.value.code, caught.value.details) == (field, code, {"field": field})
    if message is not None:
        assert caught.value.message == message


def test_check_refuses_a_resolved_value_out_of_bounds():
    with pytest.raises(ParamError) as caught:
        params_check(ExampleParams(version_id=1, method="a", niter=0))

    assert caught.value.message == "niter must be at least 1, got 0."


def test_registry_choices_are_read_when_used(monkeypatch):
    monkeypatch.setattr("tests.core.test_params.COLOURS", ["blue"])

    assert params_from_data(ExampleParams, {"version": 1, "method": "a", "colour": "blue"}).colour == "blue"
    with pytest.raises(ParamError):
        params_from_data(ExampleParams, {"version": 1, "method": "a", "colour": "red"})


# --- serializer ----------------------------------------------------------------------------------------


def test_serializer_fields_defaults_and_aliases():
    serializer = params_serializer(ExampleParams)()
    fields = serializer.fields

    assert list(fields) == [
        "version", "method", "n_clusters", "k", "keep_fraction", "niter", "exact_first", "per_class", "splits",
        "colour", "embedding_set",
    ]  # fmt: skip
    assert fields["version"].required and fields["method"].required
    assert (fields["niter"].default, fields["keep_fraction"].default, fields["exact_first"].default) == (20, 0.5, True)
    assert fields["splits"].default == ["train"]
    assert fields["niter"].help_text == "Iterations. At least 1. Default: 20."
    assert fields["k"].help_text == "Old name of n_clusters; use n_clusters."
    assert list(fields["colour"].choices) == ["red", "green"]


def test_serializer_values_with_alias_and_nulls():
    data = {"version": 2, "method": "b", "k": 5, "niter": None, "colour": None}
    strict = params_serializer(ExampleParams)(data=data)
    lenient = params_serializer(ExampleParams, null_means_default=True)(data=data)

    assert not strict.is_valid() and set(strict.errors) == {"niter"}  # only `X | None` fields take null
    assert lenient.is_valid(), lenient.errors
    assert lenient.as_params() == ExampleParams(version_id=2, method="b", n_clusters=5)


def test_serializer_reads_query_dict_lists():
    data = QueryDict("version=2&method=a&splits=val&splits=test&k=3")
    serializer = params_serializer(ExampleParams)(data=data)

    assert serializer.is_valid(), serializer.errors
    assert serializer.as_values()["splits"] == ("val", "test")
    assert serializer.as_values()["n_clusters"] == 3


def test_serializer_bounds_answer_with_the_field_code():
    serializer = params_serializer(ExampleParams)(data={"version": 2, "method": "a", "n_clusters": 0})

    assert serializer.is_valid()
    with pytest.raises(ParamError) as caught:
        serializer.as_params()
    assert caught.value.code == "invalid_k"


def test_serializer_refuses_wrong_type_and_choice():
    serializer = params_serializer(ExampleParams)(data={"version": "x", "method": "c"})

    assert not serializer.is_valid()
    assert set(serializer.errors) == {"version", "method"}


# --- form ----------------------------------------------------------------------------------------------


def test_form_fields_initial_and_help():
    form = params_form(ExampleParams)()

    assert "version" not in form.fields and "k" not in form.fields
    assert form.fields["niter"].initial == 20 and form.fields["exact_first"].initial is True
    assert form.fields["splits"].initial == ["train"] and form.fields["splits"].required
    assert form.fields["niter"].help_text == "Iterations. At least 1. Default: 20."
    assert form.fields["colour"].choices == [("", "—"), ("red", "Red"), ("green", "Green")]


def test_form_values_fill_the_defaults():
    form = params_form(ExampleParams)({"method": "a", "niter": "", "splits": ["val"], "exact_first": "on"})

    assert form.is_valid(), form.errors
    assert form.values() == {"method": "a", "splits": ("val",), "exact_first": True, "per_class": False}


def test_form_bound_error_is_on_the_field():
    form = params_form(ExampleParams)({"method": "a", "keep_fraction": "0", "splits": ["train"]})

    assert not form.is_valid()
    assert form.errors["keep_fraction"] == ["keep_fraction must lie in (0, 1], got 0.0."]


# --- command -------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_params_arguments(parser, ExampleParams)
    return parser


def test_command_options_defaults_and_flags():
    options = vars(_parser().parse_args(["7", "--method", "a"]))

    assert options["version_id"] == 7 and options["niter"] == 20 and options["exact_first"] is True
    assert options["splits"] == ["train"]
    assert params_from_options(options, ExampleParams) == ExampleParams(version_id=7, method="a")


def test_command_aliases_booleans_and_repeated_flags():
    argv = ["7", "--method", "b", "--k", "3", "--no-exact-first", "--per-class", "--split", "val", "--split", "test"]
    options = vars(_parser().parse_args([*argv, "--embeddings", "9", "--keep-fraction", "0.25"]))

    assert params_from_options(options, ExampleParams) == ExampleParams(
        version_id=7,
        method="b",
        n_clusters=3,
        exact_first=False,
        per_class=True,
        splits=("val", "test"),
        embedding_set_id=9,
        keep_fraction=0.25,
    )


def test_command_help_holds_the_default_and_refuses_bad_choices():
    parser = _parser()

    assert "Iterations. At least 1. Default: 20." in " ".join(parser.format_help().split())
    with pytest.raises(SystemExit):
        parser.parse_args(["7", "--method", "c"])


def test_form_params_take_what_the_page_knows_from_its_url():
    form = params_form(ExampleParams)({"method": "b", "splits": ["train"], "niter": "5"})

    assert form.is_valid(), form.errors
    assert form.params(version_id=4) == ExampleParams(version_id=4, method="b", niter=5, exact_first=False)


def test_api_bounds_are_drf_bounds_where_asked():
    @dataclass(frozen=True)
    class Bounded:
        size: int = param(4, min=1, max=8, api_bounds=True)
        other: int = param(4, min=1, max=8)

    fields = params_serializer(Bounded)().fields

    assert (fields["size"].min_value, fields["size"].max_value) == (1, 8)
    assert (fields["other"].min_value, fields["other"].max_value) == (None, None)


@dataclass(frozen=True)
class ListingParams:
    """A mapping parameter (synthetic batches' `avoid`: class -> words) and comma-list multiples."""

    avoid: dict[str, tuple[str, ...]] = param({}, help="Words each class's prompts avoid.")
    weights: dict[str, float] = param({"cat": 1.0}, min=0)
    eps: tuple[float, ...] | None = param(None, min=0, max=1)
    percentiles: tuple[int, ...] = param((20, 40))


def test_a_mapping_is_typed_from_json_from_lines_and_checked():
    fields = {f.name: f for f in params_fields(ListingParams)}

    assert fields["avoid"].mapping and fields["avoid"].multiple and fields["avoid"].base is str
    assert ListingParams().avoid == {} and ListingParams().avoid is not ListingParams().avoid
    assert param_help(fields["weights"]) == "At least 0. Default: cat = 1.0."
    assert params_from_data(ListingParams, {"avoid": {"cat": ["sofa", "bed"]}}).avoid == {"cat": ("sofa", "bed")}
    assert params_from_data(ListingParams, {"avoid": "cat = sofa, bed\ndog = leash"}).avoid == {
        "cat": ("sofa", "bed"), "dog": ("leash",)
    }  # fmt: skip
    assert params_from_data(ListingParams, {"weights": '{"dog": "2"}'}).weights == {"dog": 2.0}
    for bad in ({"weights": {"dog": -1}}, {"avoid": ["cat"]}, {"avoid": "cat sofa"}, {"weights": "{nope"}):
        with pytest.raises(ParamError) as refused:
            params_from_data(ListingParams, bad)
        assert refused.value.field == next(iter(bad))


def test_a_mapping_on_the_api_the_form_and_the_command():
    serializer = params_serializer(ListingParams)(data={"avoid": {"cat": ["sofa"]}})
    assert serializer.is_valid(), serializer.errors
    assert serializer.as_values()["avoid"] == {"cat": ("sofa",)}
    assert params_serializer(ListingParams)().fields["weights"].get_default() == {"cat": 1.0}

    form = params_form(ListingParams)({"avoid": "cat = sofa, bed", "weights": "", "eps": "0, 2/255", "percentiles": ""})
    assert form.is_valid(), form.errors
    assert form.values() == {"avoid": {"cat": ("sofa", "bed")}, "eps": (0.0, 2 / 255)}
    assert "cat = 1.0" in str(params_form(ListingParams)()["weights"])  # a line per entry, not a Python repr
    assert not params_form(ListingParams)({"avoid": "cat sofa"}).is_valid()
    none = params_form(ListingParams)({"percentiles": "none"})
    assert none.is_valid() and none.values()["percentiles"] == ()  # "none": empty, not the default

    parser = argparse.ArgumentParser()
    add_params_arguments(parser, ListingParams)
    argv = ["--avoid", "cat=sofa,bed", "--avoid", '{"dog": ["leash"]}', "--eps", "0,8/255", "--percentiles", "none"]
    options = vars(parser.parse_args(argv))
    assert params_from_options(options, ListingParams) == ListingParams(
        avoid={"cat": ("sofa", "bed"), "dog": ("leash",)}, eps=(0.0, 8 / 255), percentiles=()
    )
    assert vars(parser.parse_args([]))["weights"] == {"cat": 1.0}
    with pytest.raises(SystemExit):
        parser.parse_args(["--avoid", "cat"])


@dataclass(frozen=True)
class PromptParams:
    """Whole-line items (prompt contexts may hold commas), a default that depends on the mode, a list mapping."""

    mode: str = param(choices=("a", "b"))
    contexts: tuple[str, ...] = param(("on grass", "by a lake, at dusk"), lines=True, cli="--context")
    strength: float | None = param(None, min=0, max=1, default_by=("mode", {"a": 0.6}))
    avoid: dict[str, tuple[str, ...]] = param({})
    weights: dict[str, float] = param({})


def _prompt_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_params_arguments(parser, PromptParams)
    return parser


def test_lines_keep_commas_on_the_api_the_form_and_the_command():
    fields = {f.name: f for f in params_fields(PromptParams)}
    assert param_help(fields["contexts"]) == "Default: on grass; by a lake, at dusk."

    serializer = params_serializer(PromptParams)(data={"mode": "a", "contexts": ["on a beach, at dusk", "in snow"]})
    assert serializer.is_valid(), serializer.errors
    assert serializer.as_values()["contexts"] == ("on a beach, at dusk", "in snow")

    assert "on grass\nby a lake, at dusk</textarea>" in str(params_form(PromptParams)()["contexts"])
    form = params_form(PromptParams)({"mode": "a", "contexts": "on a beach, at dusk\n\n  in snow  \n"})
    assert form.is_valid(), form.errors
    assert form.values()["contexts"] == ("on a beach, at dusk", "in snow")
    as_json = params_form(PromptParams)({"mode": "a", "contexts": '["x, y", "z"]'})
    assert as_json.is_valid() and as_json.values()["contexts"] == ("x, y", "z")
    assert not params_form(PromptParams)({"mode": "a", "contexts": '["x", 3]'}).is_valid()

    parser = _prompt_parser()
    argv = ["--mode", "a", "--context", "on a beach, at dusk", "--context", '["in snow", "on ice"]']
    assert params_from_options(vars(parser.parse_args(argv)), PromptParams).contexts == (
        "on a beach, at dusk", "in snow", "on ice"
    )  # fmt: skip
    assert vars(parser.parse_args(["--mode", "a"]))["contexts"] == ["on grass", "by a lake, at dusk"]
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "a", "--context", '["x", 3]'])

    assert params_from_data(PromptParams, {"mode": "a", "contexts": "x, y\n z \n"}).contexts == ("x, y", "z")
    assert params_from_data(PromptParams, {"mode": "a", "contexts": ["x, y", "  "]}).contexts == ("x, y",)
    with pytest.raises(ParamError) as refused:
        params_from_data(PromptParams, {"mode": "a", "contexts": "[nope"})
    assert refused.value.field == "contexts"


def test_a_default_that_depends_on_another_parameter_is_resolved_on_every_surface():
    fields = {f.name: f for f in params_fields(PromptParams)}
    assert param_help(fields["strength"]) == "In [0, 1]. Default: a 0.6."

    assert params_from_data(PromptParams, {"mode": "a"}).strength == 0.6
    assert params_from_data(PromptParams, {"mode": "b"}).strength is None
    assert params_from_data(PromptParams, {"mode": "a", "strength": 0.25}).strength == 0.25

    serializer = params_serializer(PromptParams)(data={"mode": "a"})
    assert serializer.is_valid() and serializer.as_params().strength == 0.6
    form = params_form(PromptParams)({"mode": "a", "strength": ""})
    assert form.is_valid() and form.params().strength == 0.6
    assert params_from_options(vars(_prompt_parser().parse_args(["--mode", "a"])), PromptParams).strength == 0.6


def test_a_mapping_key_given_twice_adds_up_its_list_and_a_scalars_last_value_wins():
    argv = ["--mode", "a", "--avoid", "cat=sofa", "--avoid", "cat=bed,sofa", "--avoid", "dog=leash"]
    argv += ["--weights", "cat=1", "--weights", "cat=2"]
    given = params_from_options(vars(_prompt_parser().parse_args(argv)), PromptParams)
    assert given.avoid == {"cat": ("sofa", "bed"), "dog": ("leash",)} and given.weights == {"cat": 2.0}

    form = params_form(PromptParams)({"mode": "a", "avoid": "cat: sofa\ncat = bed", "weights": "cat=1\ncat=3"})
    assert form.is_valid(), form.errors
    assert form.values()["avoid"] == {"cat": ("sofa", "bed")} and form.values()["weights"] == {"cat": 3.0}


def test_only_the_values_given_on_the_api_and_the_command():
    parser = _prompt_parser()

    options = vars(parser.parse_args(["--mode", "a", "--avoid", "cat=sofa"]))
    assert params_given_from_options(options, PromptParams) == {"mode": "a", "avoid": {"cat": ("sofa",)}}
    same_as_default = vars(
        parser.parse_args(["--mode", "b", "--context", "on grass", "--context", "by a lake, at dusk"])
    )
    assert params_given_from_options(same_as_default, PromptParams) == {  # given, though it is the default
        "mode": "b", "contexts": ("on grass", "by a lake, at dusk")
    }  # fmt: skip
    # call_command's keyword options bypass argparse: a value other than the default counts as given
    assert params_given_from_options({**vars(parser.parse_args(["--mode", "a"])), "strength": 0.5}, PromptParams) == {
        "mode": "a", "strength": 0.5
    }  # fmt: skip

    serializer = params_serializer(PromptParams)(data={"mode": "b", "strength": 0.5})
    assert serializer.is_valid(), serializer.errors
    assert serializer.given_values() == {"mode": "b", "strength": 0.5}
    assert serializer.as_values()["contexts"] == ("on grass", "by a lake, at dusk")
