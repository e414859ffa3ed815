"""The open head."""
