"""Label proposals, review queues, votes and consensus."""
