"""The form that starts a training run (the training page and the Django admin both use it)."""

from django import forms

from curation.models import DatasetVersion
from robustness.ml.augmentation_presets import AUGMENTATIONS, DEFAULT_AUGMENTATION
from robustness.ml.registry import architecture_names


class TrainingStartForm(forms.Form):
    version = forms.ModelChoiceField(
        queryset=DatasetVersion.objects.select_related("dataset").order_by("dataset__name", "-number"),
        help_text="Trains on its train split; validates on its val split (or a seeded 20% of train).",
    )
    arch = forms.ChoiceField(label="Architecture", choices=lambda: [(name, name) for name in architecture_names()])
    epochs = forms.IntegerField(min_value=1, max_value=1000, initial=10)
    batch_size = forms.IntegerField(min_value=1, max_value=4096, initial=64)
    lr = forms.FloatField(label="Learning rate", min_value=0, initial=1e-3)
    img_size = forms.IntegerField(
        label="Image size", min_value=8, max_value=1024, required=False, help_text="Empty: the architecture's default."
    )
    seed = forms.IntegerField(min_value=0, initial=0)
    device = forms.ChoiceField(choices=[(name, name) for name in ("auto", "cuda", "cpu")], initial="auto")
    augmentation = forms.ChoiceField(
        choices=[(name, f"{name}: {preset.description}") for name, preset in AUGMENTATIONS.items()],
        initial=DEFAULT_AUGMENTATION,
    )
