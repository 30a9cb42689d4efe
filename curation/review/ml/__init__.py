"""Django-free parts of the review app: vote aggregation, agreement, and the proposal models on arrays."""
