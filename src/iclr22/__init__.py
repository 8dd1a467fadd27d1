"""iclr22: methods of Amazon's ICLR 2022 papers as tools for your own data."""

__version__ = "0.1.0"
