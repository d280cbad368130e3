"""Talking to the chain: contract bindings, job terms, transaction sending."""
