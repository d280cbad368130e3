"""The matchmaker service: open jobs in, match transactions out (see service.py)."""
