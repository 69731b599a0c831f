"""Real servers for tests and benchmarks, on loopback only: PostgreSQL (Debian's binaries, a
temporary data directory) and llama.cpp's OpenAI-compatible server with the packaged model.

Debian's `postgresql` package provides the binaries (.ci/run installs it). PostgreSQL refuses to
run as root, so as root it runs as the package's `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")
        self.dir = Path(tempfile.mkdtemp(prefix="coach-pg-"))
        self.port = _free_port()
        self.url = f"postgresql://coach:coach@127.0.0.1:{self.port}/coach"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, text=True, cwd=self.dir,
                       env={**os.environ, "PGPASSWORD": "coach"})

    def start(self) -> "PostgresServer":
        if self._as:
            shutil.chown(self.dir, "postgres", "postgres")
        password = self.dir / "pw"
        password.write_text("coach\n")
        if self._as:
            shutil.chown(password, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", "coach", "--pwfile", str(password),
                  "-A", "scram-sha-256", "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "start", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=on")
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "coach", "coach")
        return self

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self._as, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "-w", "stop"],
                       capture_output=True, cwd=self.dir)

    def restart(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "start", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.dir}")

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class LlamaServer:
    """python -m llama_cpp.server (llama-cpp-python[server]) with a GGUF file; url is its /v1."""

    def __init__(self, model: Path, alias: str = "qwen-1.5b", threads: int = 2) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
                      "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "4096", "--n_threads", str(threads)]
        self.process: subprocess.Popen | None = None
        self.log: Path | None = None

    def start(self, timeout: float = 180) -> "LlamaServer":
        # Its log goes to a file: llama.cpp writes a lot, and an unread pipe would fill and stall it.
        self.log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        with self.log.open("w") as log:
            self.process = subprocess.Popen(self._args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/models", timeout=2)
                return self
            except OSError:
                if self.process.poll() is not None:
                    message = f"llama.cpp server exited: {self.log.read_text()[-2000:]}"
                    self.close()
                    raise RuntimeError(message)
                time.sleep(0.5)
        self.close()
        raise RuntimeError("llama.cpp server did not start in time")

    def close(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        if self.log:
            self.log.unlink(missing_ok=True)
