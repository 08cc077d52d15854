#!/usr/bin/env python3
"""Play kanban-doctor's seeded scenarios through a real Hermes kanban kernel.

Printed by ``kanban-doctor scenarios driver``; Python 3, standard library only.
Run it with the Python that can import the hermes-agent to test (a release, a
checkout, a fork):

    python3 driver.py --out board.db [--force] [--report report.json]

It writes a fresh board, ``--out``, and refuses to replace an existing file
without ``--force``.  On success it prints one line per scenario (task id, final
status, failure counter) and exits 0.  When hermes_cli cannot be imported, or a
kernel function it needs is missing, it writes one line ``driver: ...`` naming
what is missing to stderr and exits 2, writing nothing.  ``--report FILE``
writes what it found out as JSON: the kernel modules, how spawn failures were
recorded, the readiness pass and its result, and any scenario that stopped early.

What it plays comes from SPEC below, filled in by kanban-doctor: each scenario
is one task (title = scenario name) and a list of attempt outcomes, played with
the kernel's own functions (claim_task, _set_worker_pid, enforce_max_runtime,
detect_crashed_workers, complete_task, reclaim_task, and _record_spawn_failure
or, in releases that inlined it, _record_task_failure).  The functions are
looked up in ``hermes_cli.kanban_db`` and in every ``hermes_cli.kanban_db_*``
module (forks split the kernel).  Every task gets ``max_retries``; those with a
``timed_out`` outcome also get ``max_runtime_seconds``.  After the last
scenario it runs the dispatcher's readiness pass (``recompute_ready``) once, as
a live dispatcher would on its next tick (0.15.x re-promotes a task the breaker
blocked there).

Determinism: every ``time`` module reference in the kernel modules is replaced
by a fake clock (``start``, +``step`` s after every kernel call, +``gap`` s
between scenarios); task ids (``t_00000001``, ...) and the claimer are fixed;
worker pids are fake (from ``first_pid``) and reported dead; the signal
function only records; plugin hooks and tmux clean-up are switched off; the
HERMES_* environment is replaced by a scratch HERMES_HOME.  The board is
rollback-journal, vacuumed, with no side files: the same kernel gives the same
bytes.
"""

import argparse
import importlib
import inspect
import json
import os
import pkgutil
import shutil
import sqlite3
import sys
import tempfile
import time as real_time
from pathlib import Path

SPEC = json.loads(r"""__KANBAN_DOCTOR_SPEC__""")

# The kernel functions every play needs, besides the spawn-failure recorder.
REQUIRED = [
    "init_db", "connect", "create_task", "claim_task", "_set_worker_pid",
    "enforce_max_runtime", "detect_crashed_workers", "complete_task",
    "reclaim_task", "recompute_ready",
]


class Refused(Exception):
    """The driver cannot play against this kernel (exit 2, one line on stderr)."""


class Stop(Exception):
    """A kernel call did not do what the scenario needs; the scenario stops there."""


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="driver.py",
        description="Play kanban-doctor's seeded scenarios through the importable "
        "hermes-agent kernel into a fresh board.",
    )
    ap.add_argument("--out", required=True, help="the board to write")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    ap.add_argument("--report", help="write what was found out as JSON to this file")
    args = ap.parse_args(argv)
    out = Path(args.out)
    try:
        if out.exists() and not args.force:
            raise Refused(f"{out} exists; pass --force to replace it")
        report = play(out)
    except Refused as exc:
        print(f"driver: {exc}", file=sys.stderr)
        return 2
    for line in report["scenarios"]:
        print(line)
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def play(out_path):
    """Play every scenario into a scratch board, then copy it to ``out_path``."""
    workdir = Path(tempfile.mkdtemp(prefix="kanban-doctor-driver-"))
    for name in [n for n in os.environ if n.startswith("HERMES_")]:
        del os.environ[name]
    os.environ["HERMES_HOME"] = str(workdir / "hermes-home")
    (workdir / "hermes-home").mkdir()
    try:
        return Play(load_kernel()).run(workdir, out_path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class Kernel:
    """The kernel modules, and the functions found in them."""

    def __init__(self, modules):
        self.modules = modules
        self.names = [m.__name__ for m in modules]

    def find(self, name):
        for m in self.modules:
            if hasattr(m, name):
                return getattr(m, name)
        return None


def load_kernel():
    try:
        import hermes_cli
        from hermes_cli import kanban_db
    except Exception as exc:  # ImportError, or a fork's missing dependency
        raise Refused(f"cannot import hermes_cli.kanban_db: {type(exc).__name__}: {exc}")
    # kanban_db, then the kanban_db_* modules forks split off, in name order.
    modules = [kanban_db]
    for info in pkgutil.iter_modules(hermes_cli.__path__):
        if info.name.startswith("kanban_db_"):
            try:
                modules.append(importlib.import_module(f"hermes_cli.{info.name}"))
            except Exception as exc:
                raise Refused(f"cannot import hermes_cli.{info.name}: {type(exc).__name__}: {exc}")
    kernel = Kernel(modules)
    missing = [n for n in REQUIRED if kernel.find(n) is None]
    if kernel.find("_record_spawn_failure") is None and kernel.find("_record_task_failure") is None:
        missing.append("_record_spawn_failure (or _record_task_failure)")
    if missing:
        raise Refused("kernel function(s) not found in " + ", ".join(kernel.names)
                      + ": " + ", ".join(missing))
    if "max_retries" not in inspect.signature(kernel.find("create_task")).parameters:
        raise Refused("create_task has no max_retries parameter")
    return kernel


class Play:
    """One play of SPEC's scenarios against a kernel, on a fake clock."""

    def __init__(self, kernel):
        self.k = kernel
        self.now = SPEC["start"]
        self.fake_pids = set()
        self.signals = []
        self.pids = iter(range(SPEC["first_pid"], SPEC["first_pid"] + 10_000))
        self.notes = []
        self.steps = {
            "timed_out": self.timed_out, "crashed": self.crashed,
            "spawn_failed": self.spawn_failed, "completed": self.completed,
            "reclaimed": self.reclaimed,
        }
        for s in SPEC["scenarios"]:
            for o in s["outcomes"]:
                if o not in self.steps:
                    raise Refused(f"scenario {s['name']}: unknown outcome {o!r}")

    # ---- patches ---------------------------------------------------------

    def patch(self):
        play = self

        class FakeTime:
            def time(self):
                return float(play.now)

            def __getattr__(self, name):
                return getattr(real_time, name)

        ids = iter(range(1, 1_000_000))
        claimer = SPEC["claimer"]
        patches = {
            "_pid_alive": self.fake_pid_alive,
            "_new_task_id": lambda: f"t_{next(ids):08x}",
            "_claimer_id": lambda: claimer,
            "_fire_kanban_lifecycle_hook": lambda *a, **k: None,
            "_cleanup_worker_tmux": lambda *a, **k: None,
        }
        fake_time = FakeTime()
        for m in self.k.modules:
            if getattr(m, "time", None) is real_time:
                m.time = fake_time
            for name, fn in patches.items():
                if hasattr(m, name):
                    setattr(m, name, fn)
        os.kill = no_real_kill

    def fake_pid_alive(self, pid):
        if not pid:
            return False
        if int(pid) not in self.fake_pids:
            raise AssertionError(f"liveness probe on a pid we did not fake: {pid}")
        return False

    def fake_kill(self, pid, sig):
        if int(pid) not in self.fake_pids:
            raise AssertionError(f"refusing to signal a real pid: {pid}")
        self.signals.append((int(pid), int(sig)))

    # ---- kernel calls ----------------------------------------------------

    def call(self, name, *args, **kwargs):
        """Call a kernel function; the clock moves one step after every call."""
        out = self.k.find(name)(*args, **kwargs)
        self.now += SPEC["step"]
        return out

    def claim(self, conn, tid):
        task = self.call("claim_task", conn, tid)
        if task is None or task.status != "running":
            raise Stop(f"claim_task returned {task!r} (task status {status_of(conn, tid)})")

    def spawn(self, conn, tid):
        pid = next(self.pids)
        self.fake_pids.add(pid)
        self.call("_set_worker_pid", conn, tid, pid)

    # ---- one attempt per outcome -----------------------------------------

    def timed_out(self, conn, tid):
        self.claim(conn, tid)
        self.spawn(conn, tid)
        out = self.call("enforce_max_runtime", conn, signal_fn=self.fake_kill)
        if out != [tid]:
            raise Stop(f"enforce_max_runtime returned {out!r}")

    def crashed(self, conn, tid):
        self.claim(conn, tid)
        self.spawn(conn, tid)
        out = self.call("detect_crashed_workers", conn)
        if out != [tid]:
            raise Stop(f"detect_crashed_workers returned {out!r}")

    def spawn_failed(self, conn, tid):
        self.claim(conn, tid)
        if self.k.find("_record_spawn_failure") is not None:
            self.call("_record_spawn_failure", conn, tid, SPEC["spawn_error"])
        else:
            # The dispatcher's own spawn-failure path, in releases that inlined it.
            self.call("_record_task_failure", conn, tid, SPEC["spawn_error"],
                      outcome="spawn_failed", release_claim=True, end_run=True)

    def completed(self, conn, tid):
        self.claim(conn, tid)
        self.spawn(conn, tid)
        ok = self.call("complete_task", conn, tid,
                       result="fixed the flaky worker", summary="fixed the flaky worker")
        if not ok:
            raise Stop("complete_task returned False")

    def reclaimed(self, conn, tid):
        self.claim(conn, tid)
        self.spawn(conn, tid)
        ok = self.call("reclaim_task", conn, tid, reason=SPEC["reclaim_reason"],
                       signal_fn=self.fake_kill)
        if not ok:
            raise Stop("reclaim_task returned False")

    # ---- the play --------------------------------------------------------

    def run(self, workdir, out_path):
        self.patch()
        db_path = workdir / "kanban.db"
        self.k.find("init_db")(db_path)
        conn = self.k.find("connect")(db_path)
        ids = {}
        try:
            for s in SPEC["scenarios"]:
                tid = self.k.find("create_task")(
                    conn, title=s["name"], assignee=SPEC["assignee"],
                    max_retries=SPEC["max_retries"],
                    max_runtime_seconds=SPEC["max_runtime"] if "timed_out" in s["outcomes"] else None,
                )
                ids[s["name"]] = tid
                self.now += SPEC["step"]
                for i, outcome in enumerate(s["outcomes"]):
                    try:
                        self.steps[outcome](conn, tid)
                    except Stop as stop:
                        self.notes.append(f"{s['name']}: stopped at step {i + 1} ({outcome}): {stop}")
                        break
                self.now += SPEC["gap"]
            readiness = self.readiness_pass(conn)
        finally:
            conn.close()
        lines = finish(db_path, out_path, ids)
        assert all(sig == 15 for _, sig in self.signals), self.signals
        return {
            "modules": self.k.names,
            "spawn_failure_via": (
                "_record_spawn_failure" if self.k.find("_record_spawn_failure") is not None
                else "_record_task_failure(outcome='spawn_failed', release_claim=True, end_run=True)"
            ),
            "readiness_pass": readiness,
            "notes": self.notes,
            "scenarios": lines,
            "kanban_doctor": SPEC["kanban_doctor"],
        }

    def readiness_pass(self, conn):
        """``recompute_ready`` once, with the dispatcher's failure limit where it takes one."""
        rr = self.k.find("recompute_ready")
        if "failure_limit" not in inspect.signature(rr).parameters:
            promoted = self.call("recompute_ready", conn)
            return f"recompute_ready(conn) -> {promoted}"
        limit = None
        dispatch = self.k.find("dispatch_once")
        if dispatch is not None:
            d = inspect.signature(dispatch).parameters.get("failure_limit")
            if d is not None and isinstance(d.default, int):
                limit = d.default
        if limit is None:
            limit = getattr(self.k.modules[0], "DEFAULT_FAILURE_LIMIT", 2)
        promoted = self.call("recompute_ready", conn, failure_limit=limit)
        return f"recompute_ready(conn, failure_limit={limit}) -> {promoted}"


def no_real_kill(pid, sig):
    raise AssertionError(f"os.kill({pid}, {sig}) called; expected the fake")


def status_of(conn, tid):
    return conn.execute("SELECT status FROM tasks WHERE id = ?", (tid,)).fetchone()[0]


def finish(db_path, out_path, ids):
    """Rollback journal, vacuumed, no side files; copy to ``out_path``; one line per task."""
    c = sqlite3.connect(db_path)
    try:
        mode = c.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        assert mode == "delete", mode
        c.execute("VACUUM")
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        columns = {r[1] for r in c.execute("PRAGMA table_info(tasks)")}
        # Boards before the unified counter only have spawn_failures.
        counter = "consecutive_failures" if "consecutive_failures" in columns else "spawn_failures"
        lines = []
        for name, tid in ids.items():
            status, n = c.execute(
                f"SELECT status, {counter} FROM tasks WHERE id = ?", (tid,)).fetchone()
            lines.append(f"{name:<16} {tid}  {status:<8} {counter}={n}")
    finally:
        c.close()
    for suffix in ("-wal", "-shm", "-journal"):
        assert not Path(str(db_path) + suffix).exists(), suffix
    out_path.unlink(missing_ok=True)
    shutil.copyfile(db_path, out_path)
    return lines


if __name__ == "__main__":
    sys.exit(main())
