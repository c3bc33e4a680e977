"""The call center's domain: calls, incidents, triage, the API and the app factory."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stormline")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
