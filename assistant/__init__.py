"""Offline deep-learning interview coach.

Importing this package is cheap: models, FAISS and torch load only when first used.
"""

__version__ = "0.1.0"
