"""The form that starts a training run (the training page and the Django admin both use it).

Generated from TrainParams (core.params), as the train API's serializer and `manage.py train` are; the
version is a select of the versions, and a valid form's cleaned_data is training_run_start's keywords
(every parameter, an empty entry at its default; the version as the row)."""

from typing import Any

from django import forms

from core.params import ParamError, param_help, params_fields, params_form, params_from_data
from curation.models import DatasetVersion
from robustness.ml.augmentation_presets import AUGMENTATIONS
from robustness.params import TrainParams


class TrainingStartForm(params_form(TrainParams, name="TrainParamsForm")):  # type: ignore[misc]
    version = forms.ModelChoiceField(
        queryset=DatasetVersion.objects.select_related("dataset").order_by("dataset__name", "-number"),
        help_text=param_help(next(f for f in params_fields(TrainParams) if f.name == "version")),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        presets = self.fields["augmentation"]  # the page says what each preset does (the API lists names)
        presets.choices = [(name, f"{name}: {AUGMENTATIONS[name].description}") for name in sorted(AUGMENTATIONS)]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        version = cleaned["version"]
        given = {name: value for name, value in cleaned.items() if name != "version" and value not in (None, "")}
        try:
            params = params_from_data(TrainParams, {**given, "version_id": version.pk})
        except ParamError as error:
            raise forms.ValidationError({error.field: error.message} if error.field in self.fields else error.message)
        self.cleaned_data = {"version": version, **params.start_kwargs()}
        return self.cleaned_data
