"""airmodel: send a trained neural network over a simulated wireless link."""

__version__ = "0.1.0"

__all__ = ["__version__"]
