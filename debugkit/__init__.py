"""debugkit: tells people why a Skyvern run failed."""

__version__ = "0.1.0"
