"""`manage.py generate VERSION_ID --mode text2img|img2img|inpaint|composite [--generator diffusers:ID_OR_PATH] ...
[--context TEXT ...] [--avoid CLASS=TERMS ...] [--from-report SPURIOUS_ID | --from-slice REPORT_ID:NUMBER
[--parents train|slice]]`."""

from argparse import ArgumentParser
from typing import Any

from core.api_errors import ApplicationError
from core.params import add_params_arguments, params_given_from_options
from curation.synthetic.job_kinds import GENERATE_JOB_KIND
from curation.synthetic.models import SyntheticBatch
from curation.synthetic.services.plans import PlanParams, plan_params_validate, synthetic_batch_create
from curation.synthetic.services.report_plans import SLICE_PARENTS, avoid_from_spurious_report, plan_from_slice
from jobs.cli import JobCommand


class Command(JobCommand):
    help = (
        "Plan a batch of synthetic counter-examples on a version (per class: prompts in other contexts, img2img "
        "variations, background inpainting, or compositing onto other backgrounds) and generate it. Images wait "
        "in review; nothing joins a version until the batch is applied. The last stdout line is JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # The plan's settings, generated from PlanParams (core.params) with their declared defaults. Only the
        # options given count as given (params_given_from_options): a slice plan's own settings apply unless an
        # option says otherwise, then the defaults.
        add_params_arguments(parser, PlanParams)
        parser.add_argument("--from-report", type=int, default=None, help="avoid lists from a spurious report")
        parser.add_argument(
            "--from-slice", default=None, metavar="REPORT_ID:NUMBER",
            help="target a failure slice: its class in other classes' surroundings (options given here win)",
        )  # fmt: skip
        parser.add_argument("--parents", choices=SLICE_PARENTS, default="train", help="slice plans' parents")
        parser.add_argument("--name", default="")

    def run(self, **options: Any) -> dict[str, Any]:
        given = params_given_from_options(options, PlanParams)
        fixed: dict[str, Any] = {}
        report_id, number, source = options["from_report"], None, "manual"
        if report_id is not None:
            source = "spurious_report"
            given["avoid"] = {**avoid_from_spurious_report(report_id), **given.get("avoid", {})}
        if options["from_slice"]:
            if report_id is not None:
                raise ApplicationError("pick one source: --from-report or --from-slice")
            text, _, number_text = options["from_slice"].partition(":")
            if not (text.isdigit() and number_text.isdigit()):
                raise ApplicationError(f"--from-slice takes REPORT_ID:NUMBER (got {options['from_slice']!r})")
            report_id, number, source = int(text), int(number_text), "slice_report"
            fixed = plan_from_slice(report_id, number, mode=given["mode"], parents=options["parents"])
            fixed.pop("version_id")
        params = plan_params_validate(**{**fixed, **given})
        slice_plan = source == "slice_report"
        batch = synthetic_batch_create(
            params=params, user=self.job_user(), name=options["name"], plan_source=source,
            spurious_report_id=None if slice_plan else report_id, slice_report_id=report_id if slice_plan else None,
            slice_number=number,
        )  # fmt: skip
        summary = self.run_job(kind=GENERATE_JOB_KIND, params={"batch_id": batch.pk}, enqueue=options["enqueue"])
        if summary.get("job"):
            SyntheticBatch.objects.filter(pk=batch.pk, job__isnull=True).update(job_id=summary["job"])
        return {"batch": batch.pk, "planned": len(batch.plan), "skipped_in_plan": len(batch.skipped), **summary}
