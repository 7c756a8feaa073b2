"""The receiver fixtures for every channel test."""

from tests.server.channels.receivers import channels, receiver

__all__ = ["channels", "receiver"]
