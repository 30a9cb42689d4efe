"""Writes of the review app: proposals, queues, votes, consensus, applying, taxonomy changes."""
