"""Shim for tools that want a setup.py: Beam's --setup_file (Dataflow workers install
this package from it). Everything is declared in pyproject.toml."""

from setuptools import setup

setup()
