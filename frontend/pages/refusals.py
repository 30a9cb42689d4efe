"""What a page shows of a service's refusal: its message, with a way to the fix where the page has one."""

from django.urls import reverse
from django.utils.html import format_html

from curation.embeddings.errors import EmbeddingsRequired


def refusal_message(error: Exception) -> str:
    """The refusal's message for a page (safe HTML where it links). A version with no ready embedding set gets
    a link to its embed form in place of the command and endpoint the API's message names."""
    if isinstance(error, EmbeddingsRequired):
        version = error.version
        embed = reverse("frontend:embeddings", args=[version.dataset_id, version.number])
        return format_html(
            '{} <a href="{}#start-title" id="embed-version-link">Embed v{}</a>', error.page_text, embed, version.number
        )
    return str(getattr(error, "message", error))
