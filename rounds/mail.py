"""Sending mail over SMTP with the standard library: settings from the app's config, one message per person."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

#: Seconds to wait for the mail server: a server that is down must not hold a page or the timer.
TIMEOUT = 15


class MailError(Exception):
    """The mail server could not be reached or refused the message; `message` is Dutch."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MailSettings:
    server: str
    port: int
    use_tls: bool
    username: str
    password: str
    sender: str
    #: Where the links in a mail point: the address users open the app at.
    base_url: str

    @classmethod
    def from_config(cls, config) -> MailSettings | None:
        """None when MAIL_SERVER is not set: mail is off and the app says so."""
        server = (config.get("MAIL_SERVER") or "").strip()
        if not server:
            return None
        use_tls = str(config.get("MAIL_USE_TLS", "0")).strip().lower() in ("1", "true", "ja", "yes")
        return cls(server=server, port=int(config.get("MAIL_PORT") or (587 if use_tls else 25)), use_tls=use_tls,
                   username=config.get("MAIL_USERNAME") or "", password=config.get("MAIL_PASSWORD") or "",
                   sender=config.get("MAIL_FROM") or "programmamonitor@localhost",
                   base_url=(config.get("BASE_URL") or "http://localhost:5000").rstrip("/"))


def current_settings() -> MailSettings | None:
    """This app's mail server (from its config), or None when mail is off."""
    from flask import current_app

    return MailSettings.from_config(current_app.config)


def message(settings: MailSettings, to_name: str, to_address: str, subject: str, text: str, html: str) -> EmailMessage:
    """A plain-text message with an HTML alternative, addressed to one person only."""
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = formataddr(("Programmamonitor", settings.sender))
    msg["To"] = formataddr((to_name, to_address))
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    msg["Content-Language"] = "nl"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class Outbox:
    """One connection to the mail server for a batch of mails, opened at the first one.

    When the server cannot be reached, every later mail of the batch fails at once with the same
    reason instead of waiting out the timeout again; the next run tries them all again.
    """

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._down: str | None = None

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, msg: EmailMessage) -> None:
        """Deliver one message; MailError (Dutch, without the password) when the server is away or refuses it."""
        if self._down:
            raise MailError(self._down)
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            # This address only: the connection is fine for the next person.
            raise MailError(f"De mailserver weigerde het adres: {exc.recipients}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._down = (f"De mailserver {self.settings.server}:{self.settings.port} gaf een fout: "
                          f"{type(exc).__name__}: {exc}")
            self.close()
            raise MailError(self._down) from exc

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.settings.server, self.settings.port, timeout=TIMEOUT)
        try:
            if self.settings.use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if self.settings.username:
                smtp.login(self.settings.username, self.settings.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None
