"""Forms of the version embeddings page, generated from EmbedParams, DuplicateParams and MapParams (core.params).

The fields, labels, help and defaults are the dataclasses' (the API and the commands take the same). The
page renders the encoder as its own list (which encoders this user may load, and whether their weights
are here), so the embed form's encoder field only checks and cleans the value posted.
"""

from typing import Any

from django import forms

from core.params import params_form
from curation.embeddings.services.duplicates import DuplicateParams
from curation.embeddings.services.embedding_jobs import EmbedParams
from curation.embeddings.services.maps import MapParams

EmbedForm = params_form(EmbedParams, name="EmbedForm")
DuplicatesForm = params_form(DuplicateParams, name="DuplicatesForm")
MapForm = params_form(MapParams, name="MapForm")  # the set is the form's hidden `embedding_set`


def map_form_for(embedding_set_id: int, data: Any = None) -> Any:
    """The map form of one set (ids suffixed with the set's, since the page shows one per ready set)."""
    return MapForm(data, auto_id=f"id_%s_map_{embedding_set_id}")


def duplicates_form_for(embedding_set_id: int, data: Any = None) -> Any:
    """The duplicates form of one set (ids suffixed with the set's, since the page shows one per ready set)."""
    form = DuplicatesForm(data, auto_id=f"id_%s_{embedding_set_id}", initial={"embedding_set": embedding_set_id})
    form.fields["embedding_set"].widget = forms.HiddenInput()
    return form


def form_error(form: forms.Form) -> str:
    """The first error of an invalid form as one line ('threshold: ...')."""
    for name, errors in form.errors.items():
        return f"{name}: {errors[0]}" if name != "__all__" else str(errors[0])
    return ""
