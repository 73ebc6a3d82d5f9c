"""The backup file: mode 0600, signed with the audit key (HMAC-SHA256), optionally encrypted (Fernet, scrypt key)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from core.auditkey import AuditKeys
from core.errors import ValidationError

#: First line of every file; the second is a JSON header, the rest the body (gzip JSON or its Fernet token).
MAGIC = b"PROGRAMMAMONITOR-BACKUP 2\n"
#: scrypt's cost: ~0.1 s and 32 MB per derivation, once per backup; the salt is in the header.
SCRYPT = {"n": 2 ** 15, "r": 8, "p": 1}
MIN_PASSPHRASE_LENGTH = 12


def _fernet(passphrase: str, salt: bytes, params: dict) -> Fernet:
    key = hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=params["n"], r=params["r"], p=params["p"],
                         maxmem=128 * 1024 * 1024, dklen=32)
    return Fernet(base64.urlsafe_b64encode(key))


def _signed_part(header: dict, body: bytes) -> bytes:
    unsigned = {k: v for k, v in header.items() if k != "signature"}
    return MAGIC + json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode() + b"\n" + body


def write(path: Path, payload: bytes, keys: AuditKeys, passphrase: str | None) -> dict:
    """Write `payload` to `path` (created 0600, replaced atomically); returns the header."""
    header: dict = {"encrypted": bool(passphrase), "key_id": keys.current_id}
    body = payload
    if passphrase:
        if len(passphrase) < MIN_PASSPHRASE_LENGTH:
            raise ValidationError(f"BACKUP_PASSPHRASE is te kort: gebruik minstens {MIN_PASSPHRASE_LENGTH} tekens.")
        salt = secrets.token_bytes(16)
        header.update(kdf="scrypt", salt=base64.b64encode(salt).decode(), **SCRYPT)
        body = _fernet(passphrase, salt, SCRYPT).encrypt(payload)
    # Signed after encryption: a changed byte is refused before anything is decrypted or parsed.
    header["signature"] = hmac.new(keys.current, _signed_part(header, body), hashlib.sha256).hexdigest()
    path = Path(path)
    # mkstemp creates the file 0600 (it holds password hashes and TOTP secrets); the rename is atomic.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n")
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return header


def read(path: Path, keys: AuditKeys, passphrase: str | None) -> bytes:
    """The payload of a backup file, after its signature checked out (and it was decrypted)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValidationError(f"{path} is geen leesbare back-up ({exc.__class__.__name__}).") from None
    if not data.startswith(MAGIC):
        if data.startswith(b"\x1f\x8b"):
            raise ValidationError(f"{path} is een back-up van een oudere versie, zonder handtekening; die wordt "
                                  "niet teruggezet. Maak een nieuwe back-up met deze versie.")
        raise ValidationError(f"{path} is geen leesbare back-up van Programmamonitor.")
    line, _sep, body = data[len(MAGIC):].partition(b"\n")
    try:
        header = json.loads(line)
        signature = header["signature"]
    except (ValueError, KeyError, TypeError):
        raise ValidationError(f"{path} is geen leesbare back-up: de kop is beschadigd.") from None
    key = keys.lookup(str(header.get("key_id")))
    if key is None:
        raise ValidationError(f"De back-up is ondertekend met een andere AUDIT_KEY (sleutel {header.get('key_id')}). "
                              "Zet die sleutel in AUDIT_KEY of AUDIT_KEY_PREVIOUS; er is niets teruggezet.")
    expected = hmac.new(key, _signed_part(header, body), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature)):
        raise ValidationError("De handtekening van de back-up klopt niet: het bestand is na het maken gewijzigd. "
                              "Er is niets teruggezet.")
    if not header.get("encrypted"):
        return body
    if not passphrase:
        raise ValidationError("De back-up is versleuteld: zet de wachtwoordzin in BACKUP_PASSPHRASE. "
                              "Er is niets teruggezet.")
    try:
        salt = base64.b64decode(header["salt"])
        return _fernet(passphrase, salt, {k: int(header[k]) for k in SCRYPT}).decrypt(body)
    except InvalidToken:
        raise ValidationError("De wachtwoordzin (BACKUP_PASSPHRASE) past niet bij deze back-up. "
                              "Er is niets teruggezet.") from None
