"""The command line: thin commands over the engine."""

from assistant.cli.main import main

__all__ = ["main"]
