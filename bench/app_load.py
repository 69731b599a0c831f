"""App benchmark: cold start, then a bounded load test, against `python app.py` on loopback.

    .venv/bin/python bench/app_load.py                         # extractive backend, 20 clients x 60 s
    .venv/bin/python bench/app_load.py --backend llama --clients 4 --seconds 60

Cold start: from starting the process to the first answer of /ask, with the index already
built (it is built first if missing, and that time is not counted). Load: each client loops
for --seconds over an interview (start, answer) restricted to its own part, an ask and a
grade; it checks that every interview question it is shown belongs to its part (no leakage
between sessions). With a language model, grades are judged by it: the requests queue behind the
one model, and the run counts how many grades the judge produced. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PARTS = ["Part 1: Deep Learning and Neural Networks", "Part 2: Tensorflow, Keras and Pytorch",
         "Part 3: Model training and Evaluation", "Part 4: Advanced neural network architectures"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="extractive")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    from gradio_client import Client

    data = Path(tempfile.mkdtemp())
    env = {**os.environ, "ASSISTANT_BACKEND": args.backend, "ASSISTANT_DATA_DIR": str(data), "CI": "1",
           "HF_HUB_OFFLINE": "1", "ASSISTANT_PORT": str(free_port())}
    if subprocess.run([sys.executable, "-m", "assistant", "index", "status"], env=env, capture_output=True).returncode:
        subprocess.run([sys.executable, "-m", "assistant", "index", "build"], env=env, check=True, capture_output=True)
    url = f"http://127.0.0.1:{env['ASSISTANT_PORT']}/"
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        client = None
        while client is None:
            if server.poll() is not None:
                raise SystemExit(f"the app exited: {server.stderr.read().decode()[-500:]}")
            try:
                client = Client(url, verbose=False)
            except Exception:
                time.sleep(0.2)
        client.predict("What does dropout mean?", api_name="/ask")
        cold = time.perf_counter() - started
        print(f"cold start (process start to first answer, index built, backend {args.backend}): {cold:.1f} s")

        latencies: dict[str, list[float]] = {"ask": [], "grade": [], "interview": []}
        errors: list[str] = []
        leaks: list[str] = []
        judged: list[bool] = []
        lock = threading.Lock()
        deadline = time.perf_counter() + args.seconds

        def timed(kind, fn):
            t = time.perf_counter()
            try:
                out = fn()
            except Exception as exc:  # any failure is an error of the run
                with lock:
                    errors.append(f"{kind}: {exc}")
                return None
            with lock:
                latencies[kind].append(time.perf_counter() - t)
            return out

        def user(i: int) -> None:
            part = PARTS[i % 4]
            prefix = f"`p{i % 4 + 1}-"
            c = Client(url, verbose=False)
            while time.perf_counter() < deadline:
                shown = timed("interview", lambda: c.predict([part], 3, api_name="/interview_start"))
                nxt = timed("interview", lambda: c.predict(f"user {i}: it normalizes the data", api_name="/interview_answer"))
                for out in (shown, nxt):
                    if out and prefix not in out[0]:
                        with lock:
                            leaks.append(f"client {i} ({part}) was shown: {out[0][:80]}")
                timed("ask", lambda: c.predict("How does dropout prevent overfitting?", api_name="/ask"))
                graded = timed("grade", lambda: c.predict("p3-q26", "", "", f"user {i}: dropout switches neurons off", api_name="/grade"))
                if graded is not None:
                    with lock:
                        judged.append("judged (" in graded)

        threads = [threading.Thread(target=user, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(args.seconds + 300)
        total = sum(len(v) for v in latencies.values())
        print(f"load: {args.clients} clients for {args.seconds:.0f} s: {total} requests, {len(errors)} errors, "
              f"{len(leaks)} cross-session leaks; {sum(judged)} of {len(judged)} grades judged by the model")
        for kind, values in latencies.items():
            if values:
                p50, p95 = np.percentile(values, [50, 95])
                print(f"  {kind:<9} n={len(values):5d}  p50 {p50 * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms")
        for line in (errors + leaks)[:10]:
            print(f"  {line}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
