"""Spurious-feature reports (app label "spurious").

It imports nothing from the explain app and uses robustness a lot (trained models, the evaluation's dataset
and attribute edits, metrics). It stays here, under explain, on purpose: the analysis layers are
robustness < explain, and a spurious-feature report is an explanation of a trained model's behaviour built
from robustness's pieces, as a failure-slice report is; import-linter's layers contract holds (explain imports
robustness, never the reverse). Moving the package would also move its app label's home and migrations for
no change in the dependency direction.
"""
