from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "curation.review"
    label = "review"
    verbose_name = "Label proposals and multi-label review"
