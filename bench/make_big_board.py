#!/usr/bin/env python3
"""Build a large synthetic board for benchmarking `diagnose` (stdlib only, deterministic).

    python3 bench/make_big_board.py OUT.db [--tasks 100000] [--runs-per-task 10] [--events-per-task 30]

The schema is the committed reference (fixtures/reference/schema.json). Tasks cycle
through statuses and failure histories so every rule has work to do; error texts are a few
hundred bytes, like real worker tracebacks.
"""
import argparse
import json
import os
import random
import sqlite3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTCOMES = ["completed", "crashed", "timed_out", "spawn_failed", "reclaimed", "blocked"]
KINDS = ["created", "claimed", "spawned", "commented", "blocked", "unblocked", "promoted",
         "crashed", "timed_out", "completion_blocked_hallucination", "completed"]
STATUSES = ["ready", "blocked", "running", "done", "todo", "triage", "archived"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--runs-per-task", type=int, default=10)
    ap.add_argument("--events-per-task", type=int, default=30)
    a = ap.parse_args()
    if os.path.exists(a.out):
        os.remove(a.out)
    schema = json.load(open(os.path.join(ROOT, "fixtures", "reference", "schema.json")))
    conn = sqlite3.connect(a.out)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    for t in schema["tables"]:
        conn.execute(t["sql"])
    rnd = random.Random(7)
    base = 1_790_000_000
    err = "Traceback (most recent call last):\n" + "  File \"worker.py\", line 42, in run\n" * 6 + "RuntimeError: boom"

    def tasks():
        for i in range(a.tasks):
            status = STATUSES[i % len(STATUSES)]
            fails = rnd.randrange(0, 8)
            yield (f"t_{i:08x}", f"Task {i}", f"profile{i % 17}", status, base + i,
                   "scratch", fails, err if fails else None)

    conn.executemany(
        "INSERT INTO tasks (id, title, assignee, status, created_at, workspace_kind, "
        "consecutive_failures, last_failure_error) VALUES (?,?,?,?,?,?,?,?)", tasks())

    def runs():
        for i in range(a.tasks):
            for j in range(a.runs_per_task):
                oc = OUTCOMES[(i + j) % len(OUTCOMES)]
                yield (f"t_{i:08x}", "coder", "done", base + i + j, base + i + j + 30, oc,
                       err if oc in ("crashed", "timed_out") else None)

    conn.executemany(
        "INSERT INTO task_runs (task_id, profile, status, started_at, ended_at, outcome, error) "
        "VALUES (?,?,?,?,?,?,?)", runs())

    def events():
        # Interleave tasks, as a live board does.
        for j in range(a.events_per_task):
            for i in range(a.tasks):
                kind = KINDS[(i * 7 + j) % len(KINDS)]
                payload = json.dumps({"phantom_cards": [f"t_{j:08x}"]}) if kind.startswith("completion") else '{"by": "dispatcher"}'
                yield (f"t_{i:08x}", kind, payload, base + i + j * 60)

    conn.executemany(
        "INSERT INTO task_events (task_id, kind, payload, created_at) VALUES (?,?,?,?)", events())
    for idx in schema["indexes"]:
        conn.execute(idx["sql"])
    conn.commit()
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


if __name__ == "__main__":
    main()
