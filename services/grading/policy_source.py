"""Where the grading policy comes from: CRM_GRADING_POLICY_FILE (JSON) or the defaults.

Every policy in use is kept in `grading_policies` by version, so a past
decision can be explained with the policy that made it; one version string
names one policy forever.
"""
from __future__ import annotations

import os
from pathlib import Path

import asyncpg

from .domain import DEFAULT_POLICY, GradingPolicy

POLICY_FILE_ENV = "CRM_GRADING_POLICY_FILE"


def load_policy() -> GradingPolicy:
    path = os.environ.get(POLICY_FILE_ENV)
    if not path:
        return DEFAULT_POLICY
    return GradingPolicy.model_validate_json(Path(path).read_text())


async def register_policy(conn: asyncpg.Connection, policy: GradingPolicy) -> None:
    """Record the policy under its version; refuse a different policy under a known version."""
    await conn.execute(
        "insert into grading_policies (version, policy) values ($1, $2::jsonb) on conflict do nothing",
        policy.version, policy.model_dump_json())
    stored = await conn.fetchval("select policy::text from grading_policies where version = $1", policy.version)
    if GradingPolicy.model_validate_json(stored) != policy:
        raise RuntimeError(f"grading policy version {policy.version!r} already names a different policy")
