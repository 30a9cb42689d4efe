"""Services of clusters and pruning runs: every write, and the submission of their jobs.

clustering.py (the cluster job), pruning.py (the prune job), methods.py (params onto the ML core),
decisions.py (bulk decision rows), apply.py (a run into a new version), params.py (defaults and
validation), embeddings.py (reading a version's embeddings), demo_truth.py (precision and recall on
the demo), jobs.py (submission and cleanup).
"""
