"""The refusal of work that needs a version's embeddings when the version has no ready set (pruning, label
proposals, failure slices). One message everywhere, saying how to embed it: the API and the commands answer it
as is (it names `manage.py embed` and the endpoint); pages show `page_text` with a link to the version's embed
form instead (frontend.pages.refusals). Imports no ML library: a prune job's parameter check raises it.
"""

from django.urls import reverse

from core.api_errors import ApplicationError
from curation.models import DatasetVersion


class EmbeddingsRequired(ApplicationError):
    """`version` has no ready embedding set. Details: version_id, embed_url (the endpoint that embeds it: POST).

    `otherwise`: what else the caller accepts instead ("or name one"), said after how to embed it; `code`: the
    caller's stable API code (embeddings_required; failure slices keep their invalid_embeddings).
    """

    def __init__(self, version: DatasetVersion, *, code: str = "embeddings_required", otherwise: str = ""):
        self.version = version
        embed_url = reverse("api-embedding-set-create", args=[version.pk])
        lead = f"Version {version.pk} (v{version.number} of {version.dataset.name!r}) has no ready embedding set"
        ending = f", {otherwise}." if otherwise else "."
        self.page_text = f"{lead}: embed it first{ending}"
        how = f"manage.py embed {version.pk}, or POST {embed_url}"
        details = {"version_id": version.pk, "embed_url": embed_url}
        super().__init__(f"{lead}: embed it first ({how}){ending}", code=code, details=details)
