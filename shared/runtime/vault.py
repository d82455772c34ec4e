"""The key vault: one data key per customer in its own database (`crm_vault`, CRM_VAULT_URL).

Producers seal personal fields with their customer's key (`key_for` / `keys_for_sealing`,
which create it on first use); consumers open them with `keys_for` (one query for a
whole batch). Erasure (`destroy`) deletes the keys and records the erasure; a key is
never created again for an erased customer, so a write racing with the erasure fails
(CustomerErased, 409) instead of sealing new personal data with a fresh key.

Each service process opens one vault pool at startup (shared/app.py) and installs it
as the process's vault (`installed()`): `shared.runtime.store.append` seals with it and
the consumer runtime and analytics' projection open with it. Code that runs without a
service (tests, benchmarks) simply has none: its events are stored as given.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime

import asyncpg

from ..errors import Conflict
from ..pii_seal import new_key
from .db import create_pool, keep_session

_SEAL_KEYS = """
with wanted as (select * from unnest($1::uuid[], $2::bytea[]) as w (customer_id, key)),
created as (
    insert into customer_keys (customer_id, key)
    select w.customer_id, w.key from wanted w
    where not exists (select 1 from erasures e where e.customer_id = w.customer_id)
    on conflict (customer_id) do nothing
    returning customer_id, key)
select customer_id, key from created
union all
select k.customer_id, k.key from customer_keys k join wanted using (customer_id)"""


class CustomerErased(Conflict):
    """The customer was erased: nothing personal may be written for them again."""


class Vault:
    """Customer keys in the vault database (asyncpg pool)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> Vault:
        return cls(await create_pool(url, min_size=min_size, max_size=max_size, reset=keep_session))  # the vault takes no session state

    async def close(self) -> None:
        await self.pool.close()

    async def keys_for(self, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        """The keys that exist for these customers (one query); an erased customer has none."""
        ids = list(set(customer_ids))
        if not ids:
            return {}
        rows = await self.pool.fetch("select customer_id, key from customer_keys where customer_id = any($1)", ids)
        return {r["customer_id"]: bytes(r["key"]) for r in rows}

    async def keys_for_sealing(self, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bytes]:
        """Every customer's key, created if missing (usually one statement); CustomerErased for an
        erased customer."""
        ids = list(set(customer_ids))
        if not ids:
            return {}
        keys: dict[uuid.UUID, bytes] = {}
        for _ in range(3):
            missing = [i for i in ids if i not in keys]
            rows = await self.pool.fetch(_SEAL_KEYS, missing, [new_key() for _ in missing])
            keys.update({r["customer_id"]: bytes(r["key"]) for r in rows})
            if len(keys) == len(ids):
                return keys
            # Not created and not visible: erased, or created by a transaction that committed
            # while this statement waited for it (the next statement sees it).
            erased = await self.erased([i for i in ids if i not in keys])
            if erased:
                raise CustomerErased(f"customer {min(erased)} was erased", field="customer_id", location="path")
        raise RuntimeError("vault: a customer key could not be created or read")

    async def key_for(self, customer_id: uuid.UUID, create: bool = True) -> bytes | None:
        """This customer's key; with `create`, made on first use (CustomerErased if erased)."""
        if create:
            return (await self.keys_for_sealing([customer_id]))[customer_id]
        return (await self.keys_for([customer_id])).get(customer_id)

    async def destroy(self, customer_ids: Iterable[uuid.UUID], requested_by: str,
                      at: datetime | None = None) -> list[uuid.UUID]:
        """Delete these customers' keys and record the erasure (idempotent); returns the customers
        erased now (not before)."""
        ids = sorted(set(customer_ids))
        if not ids:
            return []
        at = at or datetime.now(UTC)
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """insert into erasures (customer_id, erased_at, requested_by)
                   select unnest($1::uuid[]), $2, $3 on conflict (customer_id) do nothing returning customer_id""",
                ids, at, requested_by)
            await conn.execute("delete from customer_keys where customer_id = any($1)", ids)
        return sorted(r["customer_id"] for r in rows)

    async def erased(self, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        ids = list(set(customer_ids))
        if not ids:
            return {}
        rows = await self.pool.fetch("select customer_id, erased_at from erasures where customer_id = any($1)", ids)
        return {r["customer_id"]: r["erased_at"] for r in rows}

    async def ping(self) -> bool:
        async with self.pool.acquire(timeout=2) as conn:
            return bool(await conn.fetchval("select true"))


class NoVault(RuntimeError):
    """Sealed events met a process without a key vault (CRM_VAULT_URL): refuse rather than guess."""


_installed: Vault | None = None


def install(vault: Vault | None) -> None:
    """Make `vault` this process's vault (None: remove it)."""
    global _installed
    _installed = vault


def installed() -> Vault | None:
    return _installed


async def erased_now(customer_id: uuid.UUID) -> bool:
    """Is the customer erased (the process's vault says so)? A producer drops free text it would
    otherwise seal for them: the vault refuses to seal anything for an erased customer again."""
    return _installed is not None and customer_id in await _installed.erased([customer_id])


def required(vault: Vault | None = None) -> Vault:
    """`vault`, else the process's; NoVault when there is neither."""
    found = vault or _installed
    if found is None:
        raise NoVault("sealed personal data needs the key vault: set CRM_VAULT_URL")
    return found


@contextlib.asynccontextmanager
async def process_vault(url: str | None = None) -> AsyncIterator[Vault | None]:
    """The process's vault, or one opened from `url` (default: CRM_VAULT_URL, if set) for this
    block — for commands that run outside a service, such as `crm replay --database-url`.
    None when there is neither (sealed events met then raise NoVault)."""
    if _installed is not None:
        yield _installed
        return
    url = url or os.environ.get("CRM_VAULT_URL")
    if not url:
        yield None
        return
    vault = await Vault.open(url, max_size=2)
    install(vault)
    try:
        yield vault
    finally:
        install(None)
        await vault.close()
