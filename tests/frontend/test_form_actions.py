"""Every POST form of the pages names its action.

A form without `action` posts to the page's own address, fragment included (`.../embeddings/#start-title`), and the
browser carries that fragment over the redirect that answers the POST: the job page opened scrolled to an anchor
it does not have. Naming the action (`{{ request.get_full_path }}` for the page itself) drops it."""

import re
from pathlib import Path

import frontend

TEMPLATES = Path(frontend.__file__).parent / "templates"
FORM = re.compile(r"<form\b[^>]*>", re.S)


def post_forms_without_action() -> list[str]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for match in FORM.finditer(text):
            tag = match.group(0)
            if re.search(r'method="post"', tag, re.I) and "action=" not in tag and "hx-post" not in tag:
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(TEMPLATES)}:{line}")
    return found


def test_every_post_form_names_its_action():
    assert post_forms_without_action() == []


def test_the_check_finds_a_form_without_action(tmp_path, monkeypatch):
    (tmp_path / "page.html").write_text('<p>x</p>\n<form method="post" id="f">{% csrf_token %}</form>')
    monkeypatch.setattr(f"{__name__}.TEMPLATES", tmp_path)

    assert post_forms_without_action() == ["page.html:2"]
