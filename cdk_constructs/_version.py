"""The library version (PEP 440), read by the build backend and by the tests."""

__version__ = "0.2.0"
