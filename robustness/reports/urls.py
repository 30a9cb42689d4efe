"""API routes of the generic reports, one set per registered kind (apis.py), mounted under /api/ (config/urls.py)."""

from robustness.reports.apis import report_api_urls
from robustness.reports.job_kinds import report_kinds

urlpatterns = [pattern for kind in report_kinds() for pattern in report_api_urls(kind)]
