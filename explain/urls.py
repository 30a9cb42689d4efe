"""Explanation (Grad-CAM) API routes, mounted under /api/ (config/urls.py)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
