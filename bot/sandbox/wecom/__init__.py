"""A fake WeCom: group robots and a self-built application's API on one address (server.py,
application.py), and WeCom's side of the application's callback (callbacks.py)."""

from .application import FakeWeComApplication, SentMessage, client_of
from .callbacks import Credentials, WeComCallbacks
from .server import FakeWeCom, WeComRequest

__all__ = [
    "Credentials",
    "FakeWeCom",
    "FakeWeComApplication",
    "SentMessage",
    "WeComCallbacks",
    "WeComRequest",
    "client_of",
]
