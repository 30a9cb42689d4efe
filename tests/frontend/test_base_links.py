"""base.html's links come from `{% page_url %}` (reversed once per process): the page is what `{% url %}` wrote."""

import pytest
from django.template import Context, Template
from django.template.loader import get_template
from django.test import RequestFactory
from django.urls import reverse, set_script_prefix

from core.roles import Capability
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("prefix", ["/", "/winnow/"])
def test_base_html_writes_what_its_url_tags_wrote(prefix):
    # given base.html, and the same template with {% url %} in each {% page_url %}'s place
    source = get_template("base.html").template.source
    assert "{% url " not in source and source.count("{% page_url ") > 15
    with_page_url, with_url = Template(source), Template(source.replace("{% page_url ", "{% url "))
    # a staff superuser sees every link; the request's path is the jobs page's
    request = RequestFactory().get("/jobs/")
    request.user = UserFactory(role=None, is_superuser=True, is_staff=True)
    context = {"request": request, "user": request.user, "can": dict.fromkeys(Capability, True)}

    try:
        set_script_prefix(prefix)
        written = [t.render(Context({**context, "csrf_token": "fixed"})) for t in (with_page_url, with_url)]
    finally:
        set_script_prefix("/")

    # then both write the same page, whose links are under the script prefix
    assert written[0] == written[1]
    assert written[0].count(f'href="{prefix}') > 15
    assert f'action="{prefix}accounts/logout/"' in written[0] and f"{prefix}admin/" in written[0]
    assert f'href="{prefix.rstrip("/")}{reverse("frontend:job_list")}"' in written[0]
