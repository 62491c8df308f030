"""The one source of the package version: pyproject.toml reads it, ``catenary --version`` prints it."""

__version__ = "0.1.0"
