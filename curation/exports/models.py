"""Dataset exports."""
