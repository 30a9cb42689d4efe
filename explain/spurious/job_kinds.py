"""Job kinds of the spurious-feature app (imported by SpuriousConfig.ready): the `find_spurious` run kind.

The kit calls the services by name when a report is started or its job runs, so start-up does not load torch.
"""

from explain.spurious.models import SpuriousReport
from explain.spurious.params import SpuriousParams
from jobs.runs.kinds import RunKind, run_kind_register

FIND_SPURIOUS_JOB_KIND = "find_spurious"  # services.reports repeats it; a test checks they agree

SPURIOUS = run_kind_register(
    RunKind(
        name=FIND_SPURIOUS_JOB_KIND,
        model=SpuriousReport,
        params=SpuriousParams,
        prepare="explain.spurious.services.reports:spurious_report_prepare",
        execute="explain.spurious.services.reports:spurious_report_execute",
        job_param="spurious_report_id",
        noun="spurious-feature report",
        description="Spurious-feature report: the counterfactual flip test of a trained model on a dataset version.",
        label="Spurious features",
        slug="spurious",
        report_url_name="frontend:spurious_report",
        report_template="frontend/spurious/spurious_report.html",
    )
)
