"""Page routes of the synthetic area (namespace "frontend", appended in frontend/urls.py)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
