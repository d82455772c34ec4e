"""Container health probe for the CRM services (standard library only).

Usage: python healthcheck.py [PATH]   (PATH defaults to /health; /ready for readiness)

GETs http://127.0.0.1:<port><PATH> and exits 0 on a 2xx answer, 1 otherwise.
The port is CRM_HTTP_PORT, or the service's default port (from CRM_SERVICE)
when CRM_HTTP_PORT is unset or 0 - the same rule as shared.settings.
"""
import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORTS = {"intake": 8001, "grading": 8002, "followup": 8003, "analytics": 8004}


def probe_url(path: str) -> str:
    raw = os.environ.get("CRM_HTTP_PORT", "").strip()
    port = int(raw) if raw.isdigit() and int(raw) > 0 else 0
    if not port:
        port = DEFAULT_PORTS.get(os.environ.get("CRM_SERVICE", "intake"), 8000)
    if not path.startswith("/"):
        path = "/" + path
    return f"http://127.0.0.1:{port}{path}"


def main(argv: list[str]) -> int:
    url = probe_url(argv[1] if len(argv) > 1 else "/health")
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - fixed loopback URL
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"healthcheck {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
