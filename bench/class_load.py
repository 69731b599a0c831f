"""A class on one coach: app processes with logins, progress in one store, the model on one server.

    .venv/bin/python bench/class_load.py                               # 2 processes, PostgreSQL, llama.cpp server
    .venv/bin/python bench/class_load.py --kill-at 60                  # ... and SIGKILL process 1 after 60 s
    .venv/bin/python bench/class_load.py --store sqlite --processes 1  # the laptop set-up, for comparison

Every server is real and on loopback: PostgreSQL from Debian's binaries in a temporary data
directory, llama.cpp's OpenAI-compatible server with the packaged Qwen 1.5B (with --store sqlite
the model runs inside the one app process, as on a laptop). --users simulated users log in with
their own names and loop for --seconds over an interview answer, an ask and a graded answer, on
process (user number mod processes); after a kill, that process's users move to a live one.
Afterwards the database is read: every attempt a user was told was saved must be there, under
that user (each answer carries its user's name, so a misattributed row is seen).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"an app process exited early (code {process.returncode})")
        try:
            urllib.request.urlopen(f"{url}healthz", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--kill-at", type=float, help="SIGKILL the first app process this many seconds into the run")
    args = parser.parse_args()
    from gradio_client import Client

    from assistant.config import Settings
    from assistant.models.weights import gguf_path, language_model
    from assistant.progress.users import UsersFile
    from servers import LlamaServer, PostgresServer

    root = Path(tempfile.mkdtemp(prefix="class-load-"))
    users = UsersFile(root / "data" / "users.json")
    names = [f"student{i:02d}" for i in range(args.users)]
    for name in names:
        users.add(name, f"{name}-password")
    servers, apps = [], []
    env = {**os.environ, "CI": "1", "HF_HUB_OFFLINE": "1", "ASSISTANT_DATA_DIR": str(root / "data")}
    try:
        if args.store == "postgres":
            pg = PostgresServer()
            servers.append(pg.start())
            llama = LlamaServer(gguf_path(language_model("qwen-1.5b"), Settings().cache_dir))
            servers.append(llama.start())
            env.update(ASSISTANT_DATABASE_URL=pg.url, ASSISTANT_BACKEND="openai", ASSISTANT_OPENAI_URL=llama.url,
                       ASSISTANT_OPENAI_MODEL="qwen-1.5b")
        else:
            env.update(ASSISTANT_BACKEND="llama")
        subprocess.run([sys.executable, "-m", "assistant", "index", "build"], env=env, check=True, capture_output=True)
        for n in range(args.processes):
            port = free_port()
            log = (root / f"app{n}.log").open("w")
            process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env={**env, "ASSISTANT_PORT": str(port)},
                                       stdout=log, stderr=subprocess.STDOUT)
            apps.append((process, f"http://127.0.0.1:{port}/"))
        for process, url in apps:
            wait_up(url, process)
        run(args, names, apps, root, Client, env.get("ASSISTANT_DATABASE_URL"))
    finally:
        for process, _ in apps:
            if process.poll() is None:
                process.terminate()
                process.wait(40)
        for server in servers:
            server.close()


def run(args, names, apps, root: Path, Client, database_url: str | None) -> None:
    latencies: dict[str, list[float]] = {"ask": [], "grade": [], "interview": []}
    errors: list[str] = []
    acknowledged: dict[str, list[str]] = {name: [] for name in names}
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + args.seconds

    def live(i: int) -> str:
        alive = [url for process, url in apps if process.poll() is None]
        return alive[i % len(alive)]

    def user(i: int, name: str) -> None:
        url = live(i)
        client = Client(url, auth=(name, f"{name}-password"), verbose=False)
        k = 0
        while time.perf_counter() < deadline:
            if url not in [u for p, u in apps if p.poll() is None]:  # its process was killed: log in elsewhere
                url = live(i)
                client = Client(url, auth=(name, f"{name}-password"), verbose=False)
            k += 1
            steps = [
                ("interview", lambda: client.predict(["Part 3: Model training and Evaluation"], 2, api_name="/interview_start")),
                ("interview", lambda: client.predict(f"{name} answer {k}: it measures the error", api_name="/interview_answer")),
                ("ask", lambda: client.predict("How does dropout prevent overfitting?", api_name="/ask")),
                ("grade", lambda: client.predict("p3-q26", "", "", f"{name} answer {k}: dropout switches neurons off",
                                                 api_name="/grade")),
            ]
            for n, (kind, step) in enumerate(steps):
                t = time.perf_counter()
                try:
                    out = step()
                except Exception as exc:
                    with lock:
                        errors.append(f"{time.perf_counter() - start:6.1f}s {name} {kind}: {str(exc)[:120]}")
                    break
                with lock:
                    latencies[kind].append(time.perf_counter() - t)
                    if kind == "grade" and "Score" in str(out):
                        acknowledged[name].append(f"{name} answer {k}: dropout switches neurons off")
                    if n == 1 and "Score" in str(out[1]):  # (question, feedback, answer box, file, chart)
                        acknowledged[name].append(f"{name} answer {k}: it measures the error")

    def killer() -> None:
        time.sleep(args.kill_at)
        os.kill(apps[0][0].pid, signal.SIGKILL)
        apps[0][0].wait()
        print(f"SIGKILL app process 1 at {time.perf_counter() - start:.1f} s")

    threads = [threading.Thread(target=user, args=(i, name)) for i, name in enumerate(names)]
    if args.kill_at:
        threading.Thread(target=killer, daemon=True).start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + 600)
    elapsed = time.perf_counter() - start
    stored = stored_attempts(root, database_url)
    lost = [a for name, answers in acknowledged.items() for a in answers if a not in stored.get(name, [])]
    wrong_user = [(u, a) for u, answers in stored.items() for a in answers if not a.startswith(f"{u} ")]
    total = sum(len(v) for v in latencies.values())
    print(f"{args.store}, {len(apps)} process(es), {len(names)} users, {elapsed:.0f} s: {total} requests, "
          f"{len(errors)} errors; attempts acknowledged {sum(map(len, acknowledged.values()))}, "
          f"stored {sum(map(len, stored.values()))}, lost {len(lost)}, under the wrong user {len(wrong_user)}")
    for kind, values in latencies.items():
        if values:
            p50, p95 = np.percentile(values, [50, 95])
            print(f"  {kind:<9} n={len(values):4d}  p50 {p50:6.1f} s  p95 {p95:6.1f} s")
    if args.kill_at:
        at_kill = [e for e in errors if abs(float(e.split("s ", 1)[0]) - args.kill_at) < 5]
        print(f"  errors within 5 s of the kill (requests in flight on the killed process): {len(at_kill)}; "
              f"other errors: {len(errors) - len(at_kill)}")
    for line in errors[:20]:
        print(f"  error {line}")


def stored_attempts(root: Path, database_url: str | None) -> dict[str, list[str]]:
    """user -> the answers in the progress store (PostgreSQL if configured, else the SQLite file)."""
    query = "SELECT user_name, answer FROM attempts ORDER BY id"
    if database_url:
        import psycopg

        with psycopg.connect(database_url) as db:
            rows = db.execute(query).fetchall()
    else:
        with sqlite3.connect(root / "data" / "progress.sqlite3") as db:
            rows = db.execute(query).fetchall()
    out: dict[str, list[str]] = {}
    for user, answer in rows:
        out.setdefault(user, []).append(answer)
    return out


if __name__ == "__main__":
    main()
