"""`crm`: the operator's command-line tool."""
from __future__ import annotations

import signal
import time
from pathlib import Path

import typer

from shared.auth import mint_token
from shared.events.enums import Role

from .stack import BROKERS, BrokerUnavailable, Stack, auth_secret, check_kafka_runnable

app = typer.Typer(help="CRM backend operator tool", no_args_is_help=True)
STACK_ROOT = Path(".crm")


@app.command()
def up(root: Path = typer.Option(STACK_ROOT, help="folder for data, logs and the dev secret"),
       kafka_port: int = typer.Option(9092, envvar="CRM_EMBEDDED_KAFKA_PORT"),
       broker: str = typer.Option("kafka", help="kafka (Apache Kafka, needs Java; data kept in ROOT/kafka) "
                                  "or tansu (the fallback without Java: memory only, no idempotent producer)")) -> None:
    """Start the embedded stack (PostgreSQL, Apache Kafka, the four services) until Ctrl-C."""
    if broker not in BROKERS:
        raise typer.BadParameter(f"one of {', '.join(BROKERS)}", param_hint="--broker")
    if broker == "kafka":
        try:
            check_kafka_runnable()
        except BrokerUnavailable as exc:
            typer.echo(f"crm up: {exc}", err=True)
            raise typer.Exit(1) from None
    stack = Stack(root.resolve(), kafka_port=kafka_port, broker_kind=broker)
    # Ctrl-C and SIGTERM stop everything, even when started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        typer.echo(f"starting {'Apache Kafka' if broker == 'kafka' else 'Tansu'} and PostgreSQL ...")
        stack.start()
        secret = auth_secret(stack.root)
        typer.echo("\nCRM is up:")
        for name, svc in stack.services.items():
            typer.echo(f"  {name:<10} {svc.url}   (docs {svc.url}/docs)")
        typer.echo(f"  kafka      {stack.broker.bootstrap}")
        typer.echo(f"  dashboard  {stack.services['analytics'].url}/dashboard")
        typer.echo(f"  logs       {stack.root / 'logs'}")
        typer.echo(f"\nmanager token (12 h; to sign in to the dashboard, open {stack.services['analytics'].url}"
                   f"/dashboard/sign-in and paste it):\n  {mint_token(secret, Role.MANAGER, subject='demo-manager')}")
        typer.echo("\nmore tokens: crm token --role consultant --consultant c-001     Ctrl-C stops everything")
        while all(s.proc and s.proc.poll() is None for s in stack.services.values()):
            time.sleep(0.5)
        typer.echo("a service exited; stopping (see the logs)")
    except KeyboardInterrupt:
        typer.echo("\nstopping ...")
    finally:
        stack.stop()
        typer.echo("stopped")


@app.command()
def token(role: Role = typer.Option(..., help="integration, consultant, manager or ops"),
          consultant: str | None = typer.Option(None, help="consultant id (for the consultant role)"),
          team: str | None = typer.Option(None), ttl_hours: float = typer.Option(12.0),
          root: Path = typer.Option(STACK_ROOT)) -> None:
    """Print a bearer token signed with the stack's secret (CRM_AUTH_SECRET or the dev one)."""
    typer.echo(mint_token(auth_secret(root.resolve()), role, consultant_id=consultant, team=team,
                          ttl_seconds=int(ttl_hours * 3600)))


@app.command()
def schema(out: Path = typer.Option(Path("docs/events"), help="folder for the JSON Schema and AsyncAPI files")) -> None:
    """Write the event contract as JSON Schema and an AsyncAPI 3.0 document (asyncapi.json), generated
    from the pydantic models."""
    import importlib

    from shared.events.schema_export import write_schemas

    importlib.import_module("services.intake.callcenter_feed")  # registers the raw call-center topic's channel

    for path in write_schemas(out):
        typer.echo(str(path))


def _register_service_commands() -> None:
    """Each service may add its own commands in services/<name>/cli.py: register(app)."""
    import importlib

    for name in ("intake", "grading", "followup", "analytics"):
        try:
            module = importlib.import_module(f"services.{name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{name}.cli":
                raise
            continue
        module.register(app)


_register_service_commands()
app.command("import-history")(__import__("crm.history", fromlist=["x"]).import_history_command)

if __name__ == "__main__":
    app()
