"""Template filters of the evaluation pages: accuracies as percentages, ε in units of 1/255."""

from django import template

register = template.Library()
MISSING = "—"


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """0.8123 → '81.2%'; None → '—'."""
    if value is None or value == "":
        return MISSING
    return f"{float(value) * 100:.{digits}f}%"


@register.filter
def points(value: float | None) -> str:
    """An accuracy drop 0.0412 → '4.1 pt' (signed when negative); None → '—'."""
    if value is None or value == "":
        return MISSING
    return f"{float(value) * 100:.1f} pt"


@register.filter
def eps255(value: float | None) -> str:
    """8/255 → '8/255', 0.5/255 → '0.5/255'."""
    if value is None or value == "":
        return MISSING
    return f"{float(value) * 255:g}/255"


@register.filter
def number(value: float | None, digits: int = 3) -> str:
    if value is None or value == "":
        return MISSING
    return f"{float(value):.{digits}f}"


@register.filter
def get_item(mapping: dict, key: object) -> object:
    """mapping[key], also for an int key of a JSON object (whose keys are strings); None when absent."""
    if not isinstance(mapping, dict):
        return None
    return mapping.get(key, mapping.get(str(key)))
