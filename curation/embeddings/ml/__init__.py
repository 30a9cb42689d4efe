"""Django-free parts of the embeddings app: near-duplicate pair search, threshold calibration, perturbations."""
