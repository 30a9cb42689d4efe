"""Page routes of the generic reports, one set per registered kind (frontend/pages/reports.py; namespace
"frontend", appended in frontend/urls.py)."""

from frontend.pages.reports import report_page_urls
from robustness.reports.job_kinds import report_kinds

urlpatterns = [pattern for kind in report_kinds() for pattern in report_page_urls(kind)]
