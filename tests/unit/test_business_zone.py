"""The business zone is one setting for every service (shared.business_time, CRM_BUSINESS_ZONE)."""
import os
import subprocess
import sys

SHOW = ("from shared.business_time import DEFAULT_ZONE, business_day; "
        "from services.followup.domain import DEFAULT_POLICY; from datetime import datetime, timezone; "
        "print(DEFAULT_ZONE.key, DEFAULT_POLICY.working_hours.timezone, "
        "business_day(datetime(2024, 6, 2, 23, 30, tzinfo=timezone.utc)))")


def run(zone: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CRM_BUSINESS_ZONE"}
    if zone is not None:
        env["CRM_BUSINESS_ZONE"] = zone
    return subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, timeout=60)


def test_the_business_zone_is_asia_shanghai_unless_set():
    assert run(None).stdout.split() == ["Asia/Shanghai", "Asia/Shanghai", "2024-06-03"]


def test_a_business_zone_set_moves_every_business_day_and_follow_ups_calendar_with_it():
    assert run("Europe/Berlin").stdout.split() == ["Europe/Berlin", "Europe/Berlin", "2024-06-03"]
    assert run("America/New_York").stdout.split() == ["America/New_York", "America/New_York", "2024-06-02"]


def test_an_unknown_business_zone_stops_the_service_naming_the_setting():
    done = run("Mars/Olympus")
    assert done.returncode != 0
    assert "CRM_BUSINESS_ZONE: unknown time zone 'Mars/Olympus'" in done.stderr
