"""The real Agenta SDK, each pinned version in its own virtual environment, serving test apps.

`ensure_sdk(version)` creates `.interop/agenta-<version>/` in the project (gitignored) and
installs `agenta==<version>` and uvicorn from PyPI into it, once: a finished install leaves
a marker file and later runs reuse it. `serve_sdk_apps((venv, app_file, host_url), ...)`
runs apps with uvicorn on 127.0.0.1, offline: the SDK's host is local (a port where
nothing listens, or the stand-in of tests/interop/platform.py), its auth middleware off.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parents[2]
INTEROP_DIR = PROJECT / ".interop"
APPS = Path(__file__).resolve().parent / "apps"

LEGACY_SDK = "0.95.7"
"""The last SDK generation with `/test` and `/run` and an OpenAPI document."""
CURRENT_SDK = "0.125.1"
"""The current SDK: `/invoke` and `/inspect`, no document."""

_STARTUP_SECONDS = 90.0
# No bytecode at install: the apps compile only what they import, on their first start.
_PIP_INSTALL = ("install", "-q", "--no-compile", "--disable-pip-version-check")


class SDKInstallError(RuntimeError):
    """The SDK could not be installed from PyPI; the message names the pip log."""


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_sdk(version: str) -> Path:
    """The venv holding `agenta==version` (created and installed on first use)."""
    venv = INTEROP_DIR / f"agenta-{version}"
    marker = venv / ".installed"
    if marker.exists() and marker.read_text() == version:
        return venv
    INTEROP_DIR.mkdir(exist_ok=True)
    log = INTEROP_DIR / f"install-{version}.log"
    with log.open("w") as out:
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(_python(venv)), "-m", "pip", *_PIP_INSTALL, f"agenta=={version}", "uvicorn"],
        ]
        for step in steps:
            done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, timeout=900)
            if done.returncode != 0:
                raise SDKInstallError(f"installing agenta=={version} failed; see {log}")
    marker.write_text(version)
    return venv


def ensure_sdks(*versions: str) -> dict[str, Path]:
    """Every version's venv, installed side by side (first run only)."""
    with ThreadPoolExecutor(len(versions)) as pool:
        return dict(zip(versions, pool.map(ensure_sdk, versions), strict=True))


@contextmanager
def closed_port() -> Iterator[int]:
    """A local port where nothing listens (connections are refused) for the block."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def sdk_environment(host_url: str) -> dict[str, str]:
    """The environment an offline SDK app runs in, its platform at `host_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTA_", "VIRTUAL_ENV"))}
    env.update(
        AGENTA_HOST=host_url,
        # The 0.9x name, then the current one (the current SDK reads both).
        AGENTA_SERVICE_MIDDLEWARE_AUTH_ENABLED="false",
        AGENTA_SERVICES_MIDDLEWARE_AUTH_ENABLED="false",
        # litellm (an SDK dependency) would fetch its price list from GitHub at import.
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def serve_sdk_apps(*apps: tuple[Path, str, str]) -> Iterator[list[str]]:
    """Serve each `(venv, app_file, host_url)` with the venv's uvicorn; yields their URLs.

    The apps start side by side (importing an SDK takes seconds). `host_url` is where that
    SDK believes the Agenta platform is. Each app's output goes to `.interop/<app>.log`.
    """
    with ExitStack() as stack:
        started = [stack.enter_context(_started(*app)) for app in apps]
        for url, process, log_path in started:
            _wait_until_up(url, process, log_path)
        yield [url for url, _, _ in started]


@contextmanager
def _started(
    venv: Path, app_file: str, host_url: str
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    module = Path(app_file).stem
    command = [
        str(_python(venv)),
        "-m",
        "uvicorn",
        f"{module}:app",
        "--app-dir",
        str(APPS),
        "--fd",
        str(sock.fileno()),
        "--log-level",
        "warning",
    ]
    log_path = INTEROP_DIR / f"{module}.log"
    with sock, log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=sdk_environment(host_url),
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=(sock.fileno(),),
        )
        try:
            yield f"http://127.0.0.1:{port}", process, log_path
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    # Listening starts before the app is imported; /health answers once it is.
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the SDK app exited ({process.returncode}):\n{tail}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the SDK app at {url} did not start in {_STARTUP_SECONDS:g}s; see {log}")
