"""Job kinds of the curation app; each is a thin wrapper around one service."""
