"""REST API of label proposals and review queues (DRF; one view per operation)."""
