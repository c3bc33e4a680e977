"""Real receivers on this machine for agency deliveries: an HTTP webhook and an SMTP server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

from bench.loadgen import Receiver


class Webhook(Receiver):
    """An agency's webhook (the load test's partner endpoint): fails the first `fail_first` with 503."""

    def __init__(self, fail_first: int = 0) -> None:
        super().__init__("referrals", fail_first=fail_first)

    @property
    def deliveries(self) -> list[tuple[dict[str, str], Any]]:
        """Each accepted delivery's headers and decoded JSON body, in order."""
        with self.lock:
            return [(headers, json.loads(body)) for headers, body in self.kept]


class Mailbox:
    """An SMTP server that keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        with socket.socket() as probe:  # a free port: aiosmtpd checks it is up by connecting to it
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    @contextmanager
    def running(self) -> Iterator[Mailbox]:
        self.controller.start()
        try:
            yield self
        finally:
            self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"


class SmsGateway(Receiver):
    """The SMS gateway's send endpoint (Twilio's shape: To, From, Body, form-encoded): a fake at the seam."""

    def __init__(self) -> None:
        super().__init__("sms")

    @property
    def texts(self) -> list[dict[str, str]]:
        """Each text sent, as the form fields the gateway got."""
        with self.lock:
            return [{k: v[0] for k, v in parse_qs(body.decode()).items()} for _, body in self.kept]
