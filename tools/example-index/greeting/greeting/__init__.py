"""A tiny package, published to the example's own package index."""

__version__ = "1.0.0"


def hello(name: str) -> str:
    return f"Hello from {name}, installed with pip!"
