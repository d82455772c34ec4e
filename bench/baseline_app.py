"""The HTTP baseline: the same framework answering a POST with one INSERT and one Kafka send."""
from __future__ import annotations

import json
import os
import uuid
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from shared.runtime import kafka


class Body(BaseModel):
    channel: str
    name: str | None = None
    phone: str | None = None
    purchase_timeframe: str | None = None
    consultant_id: str | None = None


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.pool = await asyncpg.create_pool(os.environ["BASELINE_DATABASE_URL"], min_size=4, max_size=10)
    async with app.state.pool.acquire() as c:
        await c.execute("create table if not exists baseline_contacts (id uuid primary key, body jsonb)")
    app.state.producer = kafka.producer(os.environ["BASELINE_KAFKA"])
    await app.state.producer.start()
    yield
    await app.state.producer.stop()
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/v1/contacts", status_code=201)
async def post(body: Body) -> dict:
    cid = uuid.uuid4()
    data = body.model_dump_json()
    async with app.state.pool.acquire() as c:
        await c.execute("insert into baseline_contacts values ($1, $2::jsonb)", cid, data)
    await app.state.producer.send_and_wait("bench-baseline", json.dumps({"id": str(cid)}).encode(),
                                           key=str(cid).encode())
    return {"customer_id": str(cid)}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["BASELINE_PORT"]), log_level="warning", access_log=False)
