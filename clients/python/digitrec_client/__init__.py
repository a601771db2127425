"""Command-line client for the DigitRec API (``python -m digitrec_client``)."""

__version__ = "1.0.0"
