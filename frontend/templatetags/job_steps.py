"""`{% job_next_steps job as steps %}`: the next steps of a finished job that the signed-in user may take
(frontend.pages.job_results), for the pages its start form opens: a training run, a run report."""

from typing import Any

from django import template

from frontend.pages.job_results import ResultLink
from frontend.pages.job_results import job_next_steps as next_steps_of

register = template.Library()


@register.simple_tag(takes_context=True)
def job_next_steps(context: template.Context, job: Any) -> list[ResultLink]:
    request = context.get("request")
    if job is None or request is None or not job.is_finished:
        return []
    return next_steps_of(job, request.user)
