"""Page routes of the synthetic area (namespace "frontend", appended in frontend/urls.py)."""

from django.urls import path

from frontend.pages import synthetic

urlpatterns = [
    path("synthetic/", synthetic.synthetic_batch_list, name="synthetic_batch_list"),
    path("synthetic/new/", synthetic.synthetic_batch_new, name="synthetic_batch_new"),
    path("synthetic/<int:batch_id>/", synthetic.synthetic_batch_detail, name="synthetic_batch_detail"),
    path("synthetic/<int:batch_id>/review/", synthetic.synthetic_batch_review, name="synthetic_batch_review"),
    path("synthetic/<int:batch_id>/bulk/", synthetic.synthetic_batch_bulk, name="synthetic_batch_bulk"),
    path("synthetic/<int:batch_id>/apply/", synthetic.synthetic_batch_apply_page, name="synthetic_batch_apply"),
]
