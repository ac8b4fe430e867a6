"""Mastery tracking: Bayesian Knowledge Tracing (``bkt``: the pure online update, levels and
spaced review) and fitting its parameters from attempt logs (``fit``)."""
