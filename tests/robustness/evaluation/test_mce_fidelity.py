"""mCE as ImageNet-C defines it: the 15 common corruptions only, held-out ones apart, severity gaps listed."""

import pytest
from django.test import Client

from robustness.evaluation.selectors import corruption_table, evaluation_summary
from robustness.ml.corruptions import COMMON_CORRUPTIONS, HELD_OUT_CORRUPTIONS
from robustness.ml.metrics import corruption_error_table
from tests.factories import DatasetVersionFactory
from tests.robustness.evaluation.test_selectors import finished_run


def loop_ce(errors: dict, base: dict, name: str) -> float:
    severities = [s for s in errors[name] if s in base[name]]
    return sum(errors[name][s] for s in severities) / sum(base[name][s] for s in severities)


def severities_1_to_5(error_of: dict[str, float]) -> dict[str, dict[int, float]]:
    return {name: dict.fromkeys((1, 2, 3, 4, 5), error) for name, error in error_of.items()}


def test_mce_averages_the_15_common_corruptions_and_reports_the_held_out_apart():
    # given a model good on the 15 common corruptions (CE 0.5) and bad on the 4 held-out ones (CE 1.5)
    errors = severities_1_to_5({**dict.fromkeys(COMMON_CORRUPTIONS, 0.4), **dict.fromkeys(HELD_OUT_CORRUPTIONS, 0.9)})
    base = severities_1_to_5({**dict.fromkeys(COMMON_CORRUPTIONS, 0.8), **dict.fromkeys(HELD_OUT_CORRUPTIONS, 0.6)})
    # when
    table = corruption_error_table(errors, base, clean_error=0.1, baseline_clean_error=0.2)
    # then mCE is the mean over the 15 (not (15 * 0.5 + 4 * 1.5) / 19 = 0.7105), the 4 apart
    common = [loop_ce(errors, base, name) for name in COMMON_CORRUPTIONS]
    held_out = [loop_ce(errors, base, name) for name in HELD_OUT_CORRUPTIONS]
    assert table["mce"] == pytest.approx(sum(common) / 15) == pytest.approx(0.5)
    assert table["mce_held_out"] == pytest.approx(sum(held_out) / 4) == pytest.approx(1.5)
    assert table["relative_mce"] == pytest.approx((0.4 - 0.1) / (0.8 - 0.2))
    assert table["relative_mce_held_out"] == pytest.approx((0.9 - 0.1) / (0.6 - 0.2))
    assert (table["corruptions_averaged"], table["held_out_averaged"]) == (15, 4)
    assert table["common_not_run"] == [] and table["severity_gaps"] == {}


def test_severities_one_side_lacks_are_listed_not_silently_dropped():
    # given fog at severities 1-5 in the run but 1-3 in the baseline, and snow at 1-2 against 1-3
    errors = {"fog": {1: 0.2, 2: 0.3, 3: 0.4, 4: 0.9, 5: 0.9}, "snow": {1: 0.3, 2: 0.5}}
    base = {"fog": {1: 0.4, 2: 0.6, 3: 0.8}, "snow": {1: 0.5, 2: 0.5, 3: 0.5}}
    # when
    table = corruption_error_table(errors, base, clean_error=0.1, baseline_clean_error=0.1)
    # then CE sums the shared severities, and both gaps are named
    assert table["ce"]["fog"] == pytest.approx(0.9 / 1.8) and table["ce"]["snow"] == pytest.approx(0.8 / 1.0)
    assert table["severity_gaps"] == {
        "fog": {"missing_in_run": [], "missing_in_baseline": [4, 5]},
        "snow": {"missing_in_run": [3], "missing_in_baseline": []},
    }
    assert table["common_not_run"] == [n for n in COMMON_CORRUPTIONS if n not in ("fog", "snow")]
    assert table["corruptions_averaged"] == 2


@pytest.mark.django_db
def test_report_and_summary_label_the_held_out_mce_apart(viewer):
    # given a run and its baseline on fog (common) and spatter (held out), at two severities each
    version = DatasetVersionFactory()
    base = finished_run(version, clean_error=0.2, errors={"fog": [0.4, 0.6], "spatter": [0.5, 0.5]})
    run = finished_run(version, clean_error=0.1, errors={"fog": [0.2, 0.4], "spatter": [0.6, 0.9]}, baseline=base)
    # when
    table = corruption_table(run)
    summary = evaluation_summary(run)
    client = Client()
    client.force_login(viewer)
    page = client.get(f"/evaluations/{run.pk}/").content.decode()
    # then mCE is fog's CE alone, spatter's is the held-out mCE, in the table, summary and page
    assert table["mce"] == pytest.approx(0.6) and table["mce_held_out"] == pytest.approx(1.5)
    assert table["mean_error"] == pytest.approx(0.3) and table["mean_error_held_out"] == pytest.approx(0.75)
    assert table["rows"]["spatter"]["held_out"] is True and table["rows"]["fog"]["held_out"] is False
    assert (summary["mce"], summary["mce_held_out"]) == (table["mce"], table["mce_held_out"])
    assert "mCE averages 1 of the 15 common corruptions" in table["note"] and "held-out mCE" in table["note"]
    assert 'id="mce-held-out"' in page and "Held-out mCE" in page and "(held-out, not in mCE)" in page
