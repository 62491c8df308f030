"""Fuzz targets (fuzz/targets.py) and long-running atheris entry points; see docs/reliability.md."""
