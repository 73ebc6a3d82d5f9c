"""Start-up configuration: a real install refuses a missing or short SECRET_KEY or AUDIT_KEY; the demo makes long ones."""
from __future__ import annotations

import pytest

import app as app_module
from app import create_app

PG_URL = "postgresql+psycopg://app@127.0.0.1:5432/portfolio"


@pytest.mark.parametrize("key", ["x", "geheim", "a" * 31])
def test_a_short_secret_key_is_refused_outside_the_demo(monkeypatch, key):
    monkeypatch.setenv("DATABASE_URL", PG_URL)
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(RuntimeError, match="SECRET_KEY is te kort: gebruik minstens 32"):
        create_app()


def test_a_missing_secret_key_is_refused_outside_the_demo(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", PG_URL)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY ontbreekt"):
        create_app()


def test_a_long_secret_key_starts_the_app(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", PG_URL)
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    monkeypatch.setenv("AUDIT_KEY", "a" * 32)
    assert create_app().config["SECRET_KEY"] == "k" * 32


@pytest.mark.parametrize("key, message", [(None, "AUDIT_KEY ontbreekt"), ("a" * 31, "AUDIT_KEY is te kort")])
def test_a_missing_or_short_audit_key_is_refused_outside_the_demo(monkeypatch, key, message):
    monkeypatch.setenv("DATABASE_URL", PG_URL)
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    if key is None:
        monkeypatch.delenv("AUDIT_KEY", raising=False)
    else:
        monkeypatch.setenv("AUDIT_KEY", key)
    with pytest.raises(RuntimeError, match=message):
        create_app()


def test_the_audit_key_and_earlier_keys_come_from_the_environment_only(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", PG_URL)
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    monkeypatch.setenv("AUDIT_KEY", "n" * 32)
    monkeypatch.setenv("AUDIT_KEY_PREVIOUS", "o" * 32 + ", " + "p" * 32)
    keys = create_app().extensions["audit_keys"]
    from core.auditkey import key_id

    assert keys.current == b"n" * 32
    assert all(keys.lookup(key_id(k * 32)) == k * 32 for k in (b"n", b"o", b"p"))


def test_the_demo_makes_its_own_audit_key(monkeypatch, tmp_path):
    monkeypatch.delenv("AUDIT_KEY", raising=False)
    monkeypatch.setattr(app_module, "DATA_DIR", tmp_path)
    key = app_module._audit_key(app_module.DEMO_DATABASE_URL)
    key_file = tmp_path / ".audit_key"
    assert len(key) >= 32 and key_file.read_text() == key and key_file.stat().st_mode & 0o777 == 0o600


def test_the_demo_makes_a_key_that_is_long_enough(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(app_module, "DATA_DIR", tmp_path)
    key = app_module._secret_key(app_module.DEMO_DATABASE_URL)
    assert len(key) >= app_module.MIN_SECRET_KEY_LENGTH and (tmp_path / ".secret_key").read_text() == key


def test_a_test_config_needs_no_long_key():
    config = {"TESTING": True, "SECRET_KEY": "kort", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    assert create_app(config).secret_key == "kort"
