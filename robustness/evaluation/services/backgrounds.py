"""The demo's background bank for background swaps (the photos the demo composites objects onto).

Loaded from the same places the demo builder uses: WINNOW_DEMO_BACKGROUNDS_DIR or mate-backgrounds'
nature folder, plus the textures and photos scikit-image and scikit-learn ship.
"""

from curation.demo.sources import MATE_BACKGROUNDS_DIR, folder_backgrounds, pip_backgrounds
from curation.services.demo import demo_source_dirs
from robustness.evaluation.services.attributes import BackgroundBank
from robustness.evaluation.services.dataset import EvaluationSet


def demo_background_bank() -> BackgroundBank:
    """Every background of the demo's bank that this machine has."""
    _, folder = demo_source_dirs()
    folder = folder or MATE_BACKGROUNDS_DIR
    backgrounds = (folder_backgrounds(folder) if folder.is_dir() else []) + pip_backgrounds()
    return BackgroundBank(ids=[b.background_id for b in backgrounds], images=[b.rgb for b in backgrounds])


def background_bank_for(evaluation_set: EvaluationSet, source: str) -> BackgroundBank | None:
    """The bank for `source`: "demo_bank", "version_images" (None), or "auto" (the bank for demo versions)."""
    if source == "version_images" or (source == "auto" and evaluation_set.backgrounds is None):
        return None
    return demo_background_bank()
