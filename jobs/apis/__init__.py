"""REST API of jobs: views.py (list, detail, cancel), serializers.py; and `job_accepted`, the 202 answer of
every API that starts a job (other apps import it and its serializer from here)."""

from jobs.apis.serializers import JobAcceptedOutputSerializer
from jobs.apis.views import job_accepted

__all__ = ["JobAcceptedOutputSerializer", "job_accepted"]
