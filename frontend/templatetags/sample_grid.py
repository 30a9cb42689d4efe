"""The sample grid's tags, for the parts of the page that repeat hundreds of times per request.

`{% optgroups groups selected %}`: a menu's <optgroup>s of options (frontend.selectors.SetChoiceGroup), the one
whose value is `selected` marked so, each group's notes as disabled options. The grid's cluster menu lists every
cluster of a run (a thousand options for k = 1000): written here in one pass, escaped as the template engine
escapes, it costs a fraction of a `{% for %}` loop over them in the template. The grid page writes a version's menus
once with `menu_markup`, until its runs change (frontend.selectors.grid_menus), and marks the selected option in them.

`{% options choices selected %}`: the <option>s of a short menu (labels, splits, sources, review states, tags, the
member orders), written in one pass as `optgroups` writes its options.

`{% grid_cards members run_sort filter_query detail_url_pattern thumbnail_url_pattern %}`: the grid's cards, one
<li> per member (the markup is `CARD` below). A page of sixty cards written by the template engine cost more than
the rest of the page (about 900 variable nodes, each int localized); here one format per card. The links come
from URLs reversed once with `ID_SENTINEL` as the last argument (`id_url_pattern`), a sample's id put in its place,
and the thumbnail frame is frontend/_thumb_frame.html's markup.

The links' URLs come from frontend.templatetags.page_urls (reversed once per process).
"""

from collections.abc import Iterable
from html import escape
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe

from frontend.selectors import GridMenus, SetChoiceGroup
from frontend.templatetags.page_urls import ID_SENTINEL

register = template.Library()


@register.simple_tag
def optgroups(groups: Iterable[SetChoiceGroup], selected: str | None) -> SafeString:
    parts: list[str] = []
    for group in groups:
        parts.append(f'<optgroup label="{escape(str(group.label))}">')
        for value, text in group.options:
            mark = " selected" if value == selected else ""
            parts.append(f'<option value="{escape(str(value))}"{mark}>{escape(str(text))}</option>')
        parts.extend(f"<option disabled>{escape(str(note))}</option>" for note in group.notes)
        parts.append("</optgroup>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


@register.simple_tag
def options(choices: Iterable[Any], selected: Any) -> SafeString:
    """The <option>s of `choices`, (value, text) pairs or values shown as they are, the one whose value is `selected`
    marked so: what a `{% for %}` loop of `<option value="{{ value }}">{{ text }}</option>` wrote, in one pass."""
    parts: list[str] = []
    for choice in choices:
        value, text = choice if isinstance(choice, tuple) else (choice, choice)
        mark = " selected" if value == selected else ""
        parts.append(f'<option value="{escape(str(value))}"{mark}>{escape(str(text))}</option>')
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def menu_markup(menus: GridMenus, kind: str, selected: str) -> tuple[SafeString, bool]:
    """`optgroups(menus.choices[kind], selected)` and whether `selected` is one of its options. The menu's markup is
    written once per GridMenus (a version's menus are the same object until its runs change) and kept there; the
    selected option is then marked in a copy of it."""
    markup = menus.markup.get(kind)
    if markup is None:
        markup = menus.markup.setdefault(kind, optgroups(menus.choices[kind], None))
    option = f'<option value="{escape(selected)}">'
    if selected and option in markup:
        return mark_safe(markup.replace(option, f'<option value="{escape(selected)}" selected>')), True  # noqa: S308
    return mark_safe(markup), False  # noqa: S308 - written by optgroups


# One card (frontend/datasets/_grid_page.html places them); every {name} is escaped before it is put in.
CARD = (
    '<li class="thumb" data-sample-id="{id}" data-label="{label}">'
    '<input class="thumb-select" type="checkbox" value="{id}" aria-label="Select sample {id}">'
    '<a class="thumb-link" title="{name}" href="{href}">'
    '<span class="thumb-frame"><img src="{thumbnail}" loading="lazy" decoding="async" alt="{alt}, sample {id}">'
    "</span>"
    '<span class="thumb-meta"><span class="thumb-label">{label_shown}</span>{multi}</span>'
    '<span class="thumb-sub"><span class="split-dot split-{split}" aria-hidden="true"></span>{split}{synthetic} '
    '<span class="thumb-id">#{id}</span></span>{sort_value}</a></li>'
)
MULTI_LABEL_BADGE = ' <span class="badge badge-multi" title="Labels: {names}">{count} labels</span>'
SYNTHETIC_BADGE = ' <span class="badge badge-synthetic">synthetic</span>'
SORT_VALUE = '<span class="thumb-sort-value" title="{title}">{title}: {value}</span>'


@register.simple_tag
def grid_cards(
    members: Iterable[Any], run_sort: Any, filter_query: str, detail_url_pattern: str, thumbnail_url_pattern: str
) -> SafeString:
    """The cards of `members` (VersionSample rows with their sample; in a run's order each with `sort_value`)."""
    query = f"?{filter_query}" if filter_query else ""
    detail_head, _, detail_tail = detail_url_pattern.rpartition(str(ID_SENTINEL))
    thumb_head, _, thumb_tail = thumbnail_url_pattern.rpartition(str(ID_SENTINEL))
    # escape(a + b) is escape(a) + escape(b): the links' fixed parts are escaped once a page (an id needs none), and
    # what a label or a split writes once per distinct value
    detail_head, detail_tail = escape(detail_head), escape(f"{detail_tail}{query}")
    thumb_head, thumb_tail = escape(thumb_head), escape(thumb_tail)
    labels: dict[str, tuple[str, str, str]] = {}
    splits: dict[str, str] = {}
    title = escape(str(run_sort.title)) if run_sort else ""
    cards = []
    for member in members:
        sample_id, label, labels_of_member = member.sample_id, member.label, member.labels
        if label not in labels:
            labels[label] = (escape(label), escape(label or "unlabeled"), escape(label or "(unlabeled)"))
        label_escaped, alt, label_shown = labels[label]
        if member.split not in splits:
            splits[member.split] = escape(member.split)
        multi = ""
        if len(labels_of_member) > 1:
            names = escape(", ".join(str(entry["label"]) for entry in labels_of_member))
            multi = MULTI_LABEL_BADGE.format(names=names, count=len(labels_of_member))
        sort_value = ""
        if run_sort:
            sort_value = SORT_VALUE.format(title=title, value=escape(str(floatformat(member.sort_value, "-3"))))
        cards.append(
            CARD.format(
                id=sample_id,
                label=label_escaped,
                name=escape(member.sample.original_name),
                href=f"{detail_head}{sample_id}{detail_tail}",
                thumbnail=f"{thumb_head}{sample_id}{thumb_tail}",
                alt=alt,
                label_shown=label_shown,
                multi=multi,
                split=splits[member.split],
                synthetic=SYNTHETIC_BADGE if member.sample.source == "synthetic" else "",
                sort_value=sort_value,
            )
        )
    return mark_safe("".join(cards))  # noqa: S308 - every value above is escaped
