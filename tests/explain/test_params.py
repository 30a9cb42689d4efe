"""An explanation's parameters: defaults filled in, and every malformed value refused with a reason."""

import pytest

from core.api_errors import ApplicationError
from explain.services.params import explanation_params_validate

CLASSES = ["cat", "dog", "bird"]


def test_defaults_are_filled_in_and_classes_keep_the_model_order():
    params = explanation_params_validate(method="gradcam", params={"classes": ["bird", "cat"]}, model_classes=CLASSES)

    assert params == {
        "target": "predicted", "split": "auto", "classes": ["cat", "bird"], "max_samples": None, "seed": 0,
        "batch_size": 32, "device": "auto", "road_percentiles": [20, 40, 60, 80], "masks": "auto",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("method", "params", "code", "message"),
    [
        ("scorecam", {}, "invalid_method",
         "Unknown explanation method 'scorecam'; known: gradcam, gradcam++, eigencam."),
        ("gradcam", {"colour": 1}, "invalid_params", "Unknown parameter(s): colour; known: target, split, classes, "
         "max_samples, seed, batch_size, device, road_percentiles, masks."),
        ("gradcam", {"masks": "grabcut"}, "invalid_params", "masks: unknown mask provider 'grabcut'; known: clipseg, "
         "dataset, estimated (clipseg:<hub id or folder>)"),
        ("gradcam", {"target": "both"}, "invalid_params", "target must be one of predicted, true."),
        ("gradcam", {"max_samples": 0}, "invalid_params", "max_samples must be a positive integer."),
        ("gradcam", {"batch_size": True}, "invalid_params", "batch_size must be a positive integer."),
        ("gradcam", {"seed": -1}, "invalid_params", "seed must be an integer ≥ 0."),
        ("gradcam", {"classes": 5}, "invalid_params", "classes must be a list of class names."),
        ("gradcam", {"classes": ["cow"]}, "invalid_params",
         "classes must be among the model's classes (cat, dog, bird)."),
        ("gradcam", {"road_percentiles": [0, 50]}, "invalid_params",
         "road_percentiles must be a list of integers between 1 and 99 (empty: no ROAD)."),
        ("gradcam", {"device": "tpu"}, "invalid_params", "device must be auto, cpu, cuda or cuda:N."),
    ],
)  # fmt: skip
def test_malformed_values_are_refused_with_their_reason(method, params, code, message):
    with pytest.raises(ApplicationError) as refused:
        explanation_params_validate(method=method, params=params, model_classes=CLASSES)

    assert (refused.value.code, refused.value.message) == (code, message)
