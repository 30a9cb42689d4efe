"""Core API views (views.py: tokens, who am I, the API docs), serializers.py; config/urls.py imports ApiDocsView."""

from core.apis.views import ApiDocsView

__all__ = ["ApiDocsView"]
