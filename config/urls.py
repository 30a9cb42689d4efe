from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView

from core.apis import ApiDocsView
from core.forms import ThrottledAdminAuthenticationForm
from core.views import LoginView

admin.site.login_form = ThrottledAdminAuthenticationForm
admin.site.site_header = admin.site.site_title = "Winnow administration"
# The app list is one click away on the admin index; without the sidebar the change lists (jobs: 8 columns) fit.
admin.site.enable_nav_sidebar = False

api_patterns: list[URLPattern | URLResolver] = [
    path("", include("curation.urls")),
    path("", include("curation.embeddings.urls")),
    path("", include("curation.pruning.urls")),
    path("", include("curation.review.urls")),
    path("", include("curation.exports.urls")),
    path("", include("curation.masks.urls")),
    path("", include("curation.deletion.urls")),
    path("", include("jobs.urls")),
    path("", include("robustness.urls")),
    path("", include("robustness.evaluation.urls")),
    path("", include("robustness.reports.urls")),
    path("", include("explain.urls")),
    path("", include("explain.spurious.urls")),
    path("", include("explain.slices.urls")),
    path("", include("curation.synthetic.urls")),
    path("", include("core.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("accounts/login/", LoginView.as_view(), name="login"),  # before Django's, which it replaces
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("frontend.urls")),
]

# Unmatched URLs under /api/ answer a structured JSON 404 like every other API error.
handler404 = "core.api_errors.page_not_found"
