"""E-mail out: build one multipart message (plain text + HTML alternative) and hand it
to an SMTP server. Accepted by the server = delivered; anything else is a MailError."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ..config.model import EmailConfig
from ..errors import MailError

DEFAULT_TIMEOUT = 30.0


def build_message(
    cfg: EmailConfig,
    *,
    subject: str,
    text: str,
    html: str | None = None,
    to: Sequence[str] = (),
) -> EmailMessage:
    recipients = list(to or cfg.to)
    if not recipients:
        raise MailError("no recipients: set email.to in the config or pass --to")
    if not cfg.sender:
        raise MailError("no sender: set email.from in the config")
    msg = EmailMessage()
    # Header values come from our own code, but subjects carry brand names: one line only.
    msg["Subject"] = " ".join(subject.split())
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rpartition("@")[2] or None)
    # quoted-printable keeps a saved .eml readable (base64 would hide the text).
    msg.set_content(text, cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
    # Headers are written unfolded up to RFC 5322's hard limit of 998 characters: Python
    # folds a subject with an encoded word ("·", a brand's "é") so that it reads back with
    # a doubled space ("Globex 1  · 1 new"). Set after the parts are encoded, so their
    # quoted-printable lines keep the usual 76.
    msg.policy = msg.policy.clone(max_line_length=998)
    return msg


def _password(cfg: EmailConfig) -> str | None:
    if not cfg.username:
        return None
    if not cfg.password_env:
        raise MailError("email.username is set but email.password_env is not")
    password = os.environ.get(cfg.password_env)
    if password is None:
        raise MailError(f"environment variable {cfg.password_env} (email.password_env) is not set")
    return password


def send(cfg: EmailConfig, msg: EmailMessage, *, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Deliver ``msg``; returns only when the server accepted it for every recipient."""
    password = _password(cfg)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if cfg.tls:
            smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
        with smtp:
            if cfg.starttls:
                smtp.starttls(context=context)
            if cfg.username and password is not None:
                smtp.login(cfg.username, password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP login refused by {cfg.host}: {_reply(exc)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(
            f"{cfg.host} refused every recipient: {', '.join(exc.recipients)}"
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise MailError(f"{cfg.host} refused the sender {exc.sender}: {_reply(exc)}") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"{cfg.host}: {exc} (check starttls / tls in the config)") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"SMTP error from {cfg.host}: {exc}") from None
    except ssl.SSLError as exc:
        raise MailError(f"TLS with {cfg.host}:{cfg.port} failed: {exc.reason or exc}") from None
    except TimeoutError:
        raise MailError(
            f"SMTP server {cfg.host}:{cfg.port} did not answer in {timeout:g}s"
        ) from None
    except OSError as exc:
        raise MailError(f"cannot reach SMTP server {cfg.host}:{cfg.port}: {exc}") from None
    if refused:
        # Some recipients got it; saying "failed" would invite a resend to everyone.
        raise MailError(
            f"{cfg.host} refused some recipients: {', '.join(refused)} (the others got it)"
        )


def _reply(exc: smtplib.SMTPResponseException) -> str:
    message = exc.smtp_error
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{exc.smtp_code} {text}".strip()
