"""A finished job's page says what the job made in one line and links to it and to the next step."""

import re

import pytest
from django.test import Client

from frontend.pages.job_results import OUTCOME_BUILDERS, job_outcome
from jobs.runtime import JOB_KINDS
from tests.factories import DatasetVersionFactory
from tests.frontend.loop_rows import finished_job, trained_model_row
from tests.jobs.job_kinds_for_tests import COUNT

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def links_of(job) -> dict[str, str]:
    return {link.label: link.url for link in job_outcome(job).links}


def test_every_result_summary_is_for_a_registered_job_kind():
    assert set(OUTCOME_BUILDERS) - set(JOB_KINDS) == set()


def test_a_kind_without_a_summary_keeps_the_links_to_the_dataset_and_version(curator):
    version = DatasetVersionFactory(number=2)
    job = finished_job(COUNT, {"dataset": version.dataset_id, "version_id": version.pk, "groups": 3}, curator)

    outcome = job_outcome(job)

    assert (outcome.summary, links_of(job)) == (
        "",
        {f"{version.dataset.name} v2": f"/datasets/{version.dataset_id}/?version=2"},
    )


def test_an_import_job_names_the_version_it_made_and_offers_to_embed_it(curator):
    DatasetVersionFactory.create_batch(2)  # the version's id is not its number
    version = DatasetVersionFactory(number=1)
    job = finished_job(
        "import_dataset",
        {"dataset": version.dataset_id, "version": version.pk, "imported": 40, "rejected": 1, "duplicates": 2},
        curator,
    )

    outcome = job_outcome(job)

    assert outcome.summary == f"Imported 40 images (1 rejected, 2 duplicates) into {version.dataset.name} v1."
    assert links_of(job) == {
        f"{version.dataset.name} v1": f"/datasets/{version.dataset_id}/?version=1",
        "Browse samples": f"/datasets/{version.dataset_id}/v/1/samples/",
        "Embed this version": f"/datasets/{version.dataset_id}/v/1/embeddings/",
    }
    assert [link.label for link in outcome.links if link.next_step] == ["Embed this version"]


def test_a_training_job_leads_to_the_model_and_to_evaluate_explain_and_spurious(admin_user):
    version = DatasetVersionFactory(number=3)
    model = trained_model_row(version, admin_user)
    job = model.run.job
    job.refresh_from_db()

    outcome = job_outcome(job)
    query = f"?trained_model={model.pk}&version={version.pk}"

    assert outcome.summary == "Trained 2 epochs; best validation accuracy 87.5% at epoch 2."
    assert links_of(job) == {
        f"Model {model.pk} (training run {model.run.pk})": f"/training/runs/{model.run.pk}/",
        "Evaluate this model": f"/evaluations/start/{query}",
        "Explain": f"/explanations/start/{query}",
        "Find spurious features": f"/spurious/start/{query}",
    }


def test_the_start_forms_open_with_the_model_and_version_of_the_link(admin_user):
    version = DatasetVersionFactory(number=2)
    model = trained_model_row(version, admin_user)
    client = Client()
    client.force_login(admin_user)

    for path in ("/evaluations/start/", "/explanations/start/", "/spurious/start/"):
        html = client.get(f"{path}?trained_model={model.pk}&version={version.pk}").content.decode()
        assert f'<option value="{model.pk}" selected>' in html, path
        assert f'<option value="{version.pk}" selected>' in html, path


def test_the_training_run_page_offers_the_next_steps_its_reader_may_take(admin_user, curator):
    version = DatasetVersionFactory(number=2)
    model = trained_model_row(version, admin_user)
    query = f"?trained_model={model.pk}&amp;version={version.pk}"
    pages = {}
    for user in (admin_user, curator):
        client = Client()
        client.force_login(user)
        pages[user.username] = client.get(f"/training/runs/{model.run.pk}/").content.decode()

    steps = re.findall(r'<a class="[^"]*" href="([^"]+)" data-next-step>([^<]+)</a>', pages[admin_user.username])
    assert steps == [
        (f"/evaluations/start/{query}", "Evaluate this model"),
        (f"/explanations/start/{query}", "Explain"),
        (f"/spurious/start/{query}", "Find spurious features"),
    ]
    assert "data-next-step" not in pages[curator.username]  # a curator may not start these runs


@pytest.mark.parametrize(
    ("kind", "result", "summary", "next_steps"),
    [
        (
            "prune",
            {"prune_run": 7, "version": None, "method": "semdedup", "n_candidates": 100, "n_kept": 80,
             "n_removed": 20, "warnings": []},
            "SemDeDup proposes keeping 80 of 100 candidates and removing 20; nothing changes until the run is applied.",
            {"Review and apply the pruning": "/prune-runs/7/"},
        ),
        (
            "prune",
            {"prune_run": 7, "version": None, "method": "dbp", "n_candidates": 960, "n_kept": 768,
             "n_removed": 192, "warnings": [],
             "keep_explanation": "dbp keeps floor(0.8 × 960) = 768; kept 768 of 960 in the pruned splits; 40 test"
                                 " samples were not pruned, so 808 of 1,000 are kept (0.808)."},
            "Density-based pruning proposes keeping 768 of 960 candidates and removing 192; nothing changes until"
            " the run is applied. Why 768: dbp keeps floor(0.8 × 960) = 768; kept 768 of 960 in the pruned splits;"
            " 40 test samples were not pruned, so 808 of 1,000 are kept (0.808).",
            {"Review and apply the pruning": "/prune-runs/7/"},
        ),
        (
            "label_proposals",
            {"proposal_run": 4, "version": 9, "source": "confident_learning", "proposals": 12, "flagged_samples": 10,
             "label_issues": 7, "shift_flags": 1},
            "12 label proposals for 10 samples from Confident learning (linear probe); 7 label issues;"
            " 1 split-shift flag.",
            {"Review these proposals": "/review/new/?version=9&proposal_run=4"},
        ),
        (
            "label_proposals",
            {"proposal_run": 4, "version": 9, "source": "confident_learning", "proposals": 12, "flagged_samples": 10,
             "label_issues": 7, "shift_flags": 0,
             "instances": {"ran": True, "covered": 40, "label_issues_by_partners": 5, "cleared_by_partners": 2,
                           "background_swap": {"ran": True, "checked": 4, "cleared": 1, "doubtful": 6, "raised": 2}}},
            "12 label proposals for 10 samples from Confident learning (linear probe); 7 label issues;"
            " 0 split-shift flags. Same-object matching: 40 samples share an object photo with other images and were"
            " decided by them (5 flagged, 2 probe flags cleared). Background swap: 1 of 4 other flags cleared (a probe"
            " that cannot read backgrounds prefers the given label); 2 of 6 doubtful unflagged samples flagged (that"
            " probe all but rules their label out).",
            {"Review these proposals": "/review/new/?version=9&proposal_run=4"},
        ),
        (
            "label_proposals",
            {"proposal_run": 4, "version": 9, "source": "confident_learning", "proposals": 1, "flagged_samples": 1,
             "label_issues": 1, "shift_flags": 0,
             "instances": {"ran": False, "reason": "6,000 members: more than 5,000, same-object matching skipped"}},
            "1 label proposal for 1 sample from Confident learning (linear probe); 1 label issue; 0 split-shift flags."
            " Same-object matching did not run: 6,000 members: more than 5,000, same-object matching skipped.",
            {"Review these proposals": "/review/new/?version=9&proposal_run=4"},
        ),
        (
            "export_version",
            {"export": 3, "format": "imagefolder", "version": None, "samples": 5, "files": ["a.zip"], "size": 2048},
            "Exported 5 samples as imagefolder (1 file, 2.0\xa0KB).",
            {"Download from the exports page": "/exports/"},
        ),
        (
            "evaluate",
            {"evaluation_run": 5, "samples": 200, "suites": ["clean", "corruptions"], "top1": 0.9},
            "Top-1 accuracy 90.0% on 200 samples (clean, corruptions).",
            {},
        ),
    ],
)  # fmt: skip
def test_summaries_and_next_steps_of_other_kinds(curator, kind, result, summary, next_steps):
    job = finished_job(kind, result, curator)

    outcome = job_outcome(job)

    assert outcome.summary == summary
    assert {link.label: link.url for link in outcome.links if link.next_step} == next_steps


def test_the_page_shows_the_summary_and_keeps_the_json_behind_a_disclosure(curator):
    version = DatasetVersionFactory(number=1)
    job = finished_job("import_dataset", {"dataset": version.dataset_id, "version": version.pk, "imported": 3}, curator)
    client = Client()
    client.force_login(curator)

    partial = client.get(f"/jobs/{job.pk}/", **HTMX).content.decode()

    assert '<p class="job-summary" id="job-summary">Imported 3 images (0 rejected, 0 duplicates)' in partial
    assert '<details class="job-result-details" >' in partial  # closed: the summary says it
    assert "&quot;imported&quot;: 3" in partial


def test_a_job_with_hidden_details_still_says_what_it_made(curator, admin_user):
    # given a prune job an admin started: a curator sees only the numbers of its result
    version = DatasetVersionFactory(number=1)
    result = {"prune_run": 7, "version": version.pk, "method": "semdedup", "n_candidates": 10, "n_kept": 8,
              "n_removed": 2, "warnings": ["one class loses most of its samples"]}  # fmt: skip
    job = finished_job("prune", result, admin_user)
    client = Client()
    client.force_login(curator)

    partial = client.get(f"/jobs/{job.pk}/", **HTMX).content.decode()

    assert "The run proposes keeping 8 of 10 candidates and removing 2" in partial
    assert 'href="/prune-runs/7/"' in partial
    assert "semdedup" not in partial
