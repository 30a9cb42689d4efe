"""`{% report_nav as reports %}`: the navigation's entry of each generic report kind (robustness.reports), in the
order they were registered: its label, its list page (reversed once per process, `page_url`) and its slug."""

from dataclasses import dataclass

from django import template

from frontend.templatetags.page_urls import page_url
from robustness.reports.job_kinds import report_kinds

register = template.Library()


@dataclass(frozen=True)
class ReportNavLink:
    label: str
    url: str
    slug: str


@register.simple_tag
def report_nav() -> list[ReportNavLink]:
    return [
        ReportNavLink(kind.label, page_url(f"frontend:{kind.slug}_report_list"), kind.slug) for kind in report_kinds()
    ]
