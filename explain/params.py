"""What an explanation run takes, declared once: the start API, the start page and `manage.py explain` are
generated from ExplanationParams (jobs.runs); services/params.py checks the values and fills these defaults."""

from dataclasses import dataclass

from core.params import param
from explain.models import CamMethod
from robustness.params import SPLITS, ModelOnVersionParams

TARGETS = ("predicted", "true")
SPLIT_HELP = "test, val, train, unassigned or all; auto: test, else val, else all."
DEVICE_HELP = "auto, cpu, cuda or cuda:N."


@dataclass(frozen=True)
class ExplanationParams(ModelOnVersionParams):
    """The model, the version, the method and the target layer (the run's own fields), then every parameter."""

    # A plain string on the API (the service refuses another with invalid_method): another enum named "method"
    # would collide in the schema.
    method: str = param(
        CamMethod.GRADCAM.value,
        row=True,
        choices=CamMethod.choices,
        api_enum=False,
        help=f"The CAM method: {', '.join(CamMethod.values)}.",
    )
    target_layer: str = param(
        "", row=True, help="Dotted module path of the layer the maps are taken at.", default_text="the last conv block"
    )
    target: str = param("predicted", choices=TARGETS, help="The class the maps explain: predicted or true.")
    split: str = param(
        "auto",
        choices=(("auto", "test (else val, else all)"), *SPLITS),
        api_enum=False,
        cli_enum=False,
        help=SPLIT_HELP,
    )
    classes: tuple[str, ...] | None = param(None, help="Explain only samples of these classes (default: every class).")
    max_samples: int | None = param(None, min=1, help="Explain a seeded subset of at most this many samples.")
    seed: int = param(0, min=0, help="Seed of the subset and of ROAD's imputation noise.")
    batch_size: int = param(32, min=1, help="Images per batch.")
    device: str = param("auto", help=DEVICE_HELP)
    road_percentiles: tuple[int, ...] = param(
        (20, 40, 60, 80), min=1, max=99, label="ROAD percentiles", help="ROAD removal percentiles; none: no ROAD."
    )
    masks: str = param("auto", help="Object masks of the mask scores: auto, dataset or a provider of estimated masks.")
