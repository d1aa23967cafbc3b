"""The package version, in a module of its own (no import cycle with persistence)."""

__version__ = "0.3.0"
