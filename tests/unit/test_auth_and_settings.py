"""Tokens, roles, and one set of settings for the embedded stack and compose."""
import time
from pathlib import Path

import jwt
import pytest
import yaml

from shared.auth import decode_token, mint_token
from shared.events.enums import Role
from shared.settings import Settings

SECRET = "s" * 48
ROOT = Path(__file__).resolve().parents[2]


def test_token_round_trip_carries_role_and_consultant():
    p = decode_token(SECRET, mint_token(SECRET, Role.CONSULTANT, consultant_id="c-7", team="east"))
    assert (p.role, p.consultant_id, p.team, p.subject) == (Role.CONSULTANT, "c-7", "east", "c-7")


@pytest.mark.parametrize("token", [
    mint_token(SECRET, Role.MANAGER, ttl_seconds=-1),  # expired
    mint_token("another-secret-" * 4, Role.MANAGER),  # forged
    jwt.encode({"sub": "x", "role": "manager", "exp": 4102444800, "iat": 0}, SECRET),  # no issuer
    jwt.encode({"iss": "crm", "sub": "x", "role": "king", "exp": 4102444800, "iat": 0}, SECRET),  # no such role
    jwt.encode({"iss": "crm", "sub": "x", "role": "manager", "exp": 4102444800, "iat": 0}, SECRET,
               algorithm="HS512"),  # other algorithm
])
def test_bad_tokens_are_refused(token):
    with pytest.raises((jwt.PyJWTError, ValueError)):
        decode_token(SECRET, token)


def test_a_remembered_token_still_expires(monkeypatch):
    """decode_token remembers verified tokens: one verified while valid is refused once it expires."""
    token = mint_token(SECRET, Role.MANAGER, ttl_seconds=60)
    assert decode_token(SECRET, token).role is Role.MANAGER
    assert decode_token(SECRET, token).role is Role.MANAGER  # remembered
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_token(SECRET, token)
    with pytest.raises(jwt.PyJWTError):
        decode_token("another-secret-" * 4, token)  # another secret never sees the remembered answer


def test_compose_sets_exactly_the_settings_the_services_read():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    fields = {f"CRM_{name.upper()}" for name in Settings.model_fields}
    for name in ("intake", "grading", "followup", "analytics"):
        env = compose["services"][name]["environment"]
        keys = set(env) if isinstance(env, dict) else {item.split("=", 1)[0] for item in env}
        assert keys <= fields, f"{name} sets settings the code does not read: {keys - fields}"
        assert {"CRM_DATABASE_URL", "CRM_VAULT_URL", "CRM_KAFKA_BOOTSTRAP", "CRM_AUTH_SECRET", "CRM_SERVICE"} <= keys
