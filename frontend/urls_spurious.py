"""Page routes of the spurious area (namespace "frontend", appended in frontend/urls.py)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
