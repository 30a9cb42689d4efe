"""The parameters of an explanation run, declared once (checked by services/params.py, which fills these defaults)."""

from dataclasses import dataclass

from core.params import param

TARGETS = ("predicted", "true")


@dataclass(frozen=True)
class ExplanationParams:
    """Every parameter of an explanation run (the method and the target layer are the request's own fields)."""

    target: str = param("predicted", choices=TARGETS, help="The class the maps explain: predicted or true.")
    split: str = param("auto", help="test, val, train, unassigned or all; auto: test, else val, else all.")
    classes: tuple[str, ...] | None = param(None, help="Explain only samples of these classes (default: every class).")
    max_samples: int | None = param(None, help="Explain a seeded subset of at most this many samples.")
    seed: int = param(0, help="Seed of the subset and of ROAD's imputation noise.")
    batch_size: int = param(32, help="Images per batch.")
    device: str = param("auto", help="auto, cpu, cuda or cuda:N.")
    road_percentiles: tuple[int, ...] = param((20, 40, 60, 80), help="ROAD removal percentiles; empty: no ROAD.")
    masks: str = param("auto", help="Object masks of the mask scores: auto, dataset or a provider of estimated masks.")
