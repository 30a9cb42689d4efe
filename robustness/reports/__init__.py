"""Generic model-run reports: a run kind with no row model or prepare of its own (jobs.runs: RunKind's defaults).

A report is four pieces: a params dataclass, an execute function, a template block and a registry entry
(docs/ARCHITECTURE.md §15). This app holds what they plug into: the row (`ModelReport`), the default prepare,
the API, the selectors and the `report` command, all generated per kind, and the reports built on it
(job_kinds.py).
"""
