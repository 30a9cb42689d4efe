"""REST API of jobs: views.py (list, detail, cancel), serializers.py; and `job_accepted`, the 202 answer of
every API that starts a job, with `params_job_accepted`, the whole POST of one whose params come from a generated
input serializer (other apps import them and the serializer from here)."""

from jobs.apis.serializers import JobAcceptedOutputSerializer
from jobs.apis.views import job_accepted, params_job_accepted

__all__ = ["JobAcceptedOutputSerializer", "job_accepted", "params_job_accepted"]
