"""A real SMTP server for the tests (aiosmtpd on a free local port) that keeps every message it receives."""
from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Keep:
    def __init__(self):
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


class MailServer:
    """Start and stop on a fixed port, so a test can take the server down and bring it back."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self._handler = _Keep()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        return self._handler.messages

    def start(self) -> MailServer:
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> dict:
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(self.port), "MAIL_FROM": "monitor@jenv.example",
                "BASE_URL": "https://monitor.jenv.example"}

    def to(self, address: str) -> list[EmailMessage]:
        return [msg for rcpts, msg in self.messages if rcpts == [address]]

    @staticmethod
    def subject(msg: EmailMessage) -> str:
        # A long subject is folded onto the next line when sent; a mail program shows it unfolded.
        return " ".join(str(msg["Subject"]).split())

    @staticmethod
    def text(msg: EmailMessage) -> str:
        return msg.get_body(("plain",)).get_content()

    @staticmethod
    def html(msg: EmailMessage) -> str:
        return msg.get_body(("html",)).get_content()
