"""The one background-work helper: results in order on the GUI thread, errors as messages,
newest-only requests, shutdown that waits."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from vae_explorer.core.data import DatasetError
from vae_explorer.core.projection import ProjectionError
from vae_explorer.gui.workers import LatestOnlyRunner, Worker, running_workers, wait_for_workers


def _gui_thread() -> QThread:
    return QThread.currentThread()


def test_a_generator_job_yields_in_order_then_returns_then_finishes(qtbot):
    def job(n):
        yield from range(n)
        return "ignored: a generator's return value is not its result"

    seen: list[tuple[str, object, bool]] = []
    gui = _gui_thread()
    worker = Worker(job, 5, name="test-gen")
    worker.yielded.connect(lambda v: seen.append(("yielded", v, QThread.currentThread() is gui)))
    worker.returned.connect(lambda v: seen.append(("returned", v, QThread.currentThread() is gui)))
    worker.finished.connect(lambda: seen.append(("finished", None, QThread.currentThread() is gui)))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    assert [(k, v) for k, v, _ in seen] == [("yielded", i) for i in range(5)] + [
        ("returned", None),
        ("finished", None),
    ]
    assert all(on_gui for _, _, on_gui in seen)  # even plain lambdas run on the GUI thread


def test_a_function_job_returns_its_value_and_reports_progress(qtbot):
    holder: dict[str, Worker] = {}

    def job(x):
        for i in range(3):
            holder["w"].report(i)
        return x * 2

    worker = Worker(job, 21, name="test-fn")
    holder["w"] = worker
    progress: list[object] = []
    worker.progress.connect(progress.append)
    with qtbot.waitSignal(worker.returned, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == [42] and progress == [0, 1, 2]


@pytest.mark.parametrize(
    "error",
    [
        DatasetError("the folder /x has no test images"),
        ProjectionError("UMAP needs at least 5 finite codes [N, d], got (1, 10)"),
    ],
)
def test_a_user_error_is_a_message_without_traceback(qtbot, capfd, error):
    def job():
        raise error

    worker = Worker(job, name="test-user-error")
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == [str(error)]
    assert "Traceback" not in capfd.readouterr().err


def test_a_bug_is_a_message_with_its_type_and_a_traceback_on_stderr(qtbot, capfd):
    def job():
        yield 1
        raise ZeroDivisionError("oops")

    worker = Worker(job, name="test-bug")
    failed: list[str] = []
    worker.failed.connect(failed.append)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    assert failed == ["ZeroDivisionError: oops"]
    assert "Traceback" in capfd.readouterr().err


def test_latest_only_runner_runs_the_newest_request_next(qtbot):
    gate = threading.Event()
    ran: list[int] = []

    def job(request):
        if request == 0:
            gate.wait(5)
        ran.append(request)
        return request

    runner = LatestOnlyRunner(job, "test-latest")
    results: list[object] = []
    runner.returned.connect(results.append)
    busy: list[bool] = []
    runner.busyChanged.connect(busy.append)
    for request in range(20):
        runner.submit(request)
    gate.set()
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=5000)
    assert ran == [0, 19] and results == [0, 19]
    assert busy == [True, False]


def test_shutdown_drops_pending_work_and_waits_for_the_running_job(qtbot):
    started = threading.Event()

    def job(request):
        started.set()
        time.sleep(0.2)
        return request

    runner = LatestOnlyRunner(job, "test-shutdown")
    runner.submit(1)
    runner.submit(2)
    assert started.wait(5)
    runner.shutdown()
    assert running_workers() == 0
    runner.submit(3)  # after shutdown: ignored
    assert not runner.is_busy() or running_workers() == 0


def test_wait_for_workers_delivers_what_they_posted(qtbot):
    def job():
        time.sleep(0.05)
        return "done"

    worker = Worker(job, name="test-wait")
    got: list[object] = []
    worker.returned.connect(got.append)
    worker.start()
    assert wait_for_workers(5000)
    assert got == ["done"] and running_workers() == 0


@pytest.mark.parametrize("ms", [50])
def test_wait_for_workers_gives_up_on_a_job_that_does_not_end(qtbot, ms):
    release = threading.Event()
    worker = Worker(lambda: release.wait(10), name="test-stuck")
    worker.start()
    assert not wait_for_workers(ms)
    release.set()
    qtbot.waitUntil(lambda: running_workers() == 0, timeout=5000)


def test_a_running_job_survives_garbage_collection_of_every_reference(qtbot):
    import gc

    release = threading.Event()
    got: list[object] = []
    worker = Worker(lambda: release.wait(10) and "done", name="test-gc")
    worker.returned.connect(got.append)
    worker.start()
    del worker
    for _ in range(3):
        gc.collect()  # a QThread reached here while running would abort the process
    release.set()
    qtbot.waitUntil(lambda: got == ["done"], timeout=5000)
    qtbot.waitUntil(lambda: running_workers() == 0, timeout=5000)


def test_exiting_while_a_job_runs_lets_it_finish_its_file(tmp_path):
    """The interpreter waits for a running job at exit (no abort, the file is complete)."""
    import subprocess
    import sys

    out = tmp_path / "written.txt"
    code = (
        "import sys, time\n"
        "from PySide6.QtCore import QCoreApplication\n"
        "from vae_explorer.gui.workers import Worker\n"
        "app = QCoreApplication([])\n"
        "def job(path):\n"
        "    time.sleep(0.5)\n"
        "    open(path, 'w').write('complete')\n"
        f"Worker(job, {str(out)!r}, name='writer').start()\n"
        "sys.exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == "complete"


def test_waiting_for_a_worker_that_never_started_returns_at_once(qtbot):
    worker = Worker(lambda: None, name="test-unstarted")
    assert worker.wait(10) and not worker.is_running()


def test_a_worker_runs_its_job_once_even_if_started_twice(qtbot):
    runs: list[int] = []
    worker = Worker(lambda: runs.append(1), name="test-twice")
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
        worker.start()
    qtbot.wait(50)
    assert runs == [1]


def test_cancel_stops_a_job_at_its_next_report_without_a_traceback(qtbot, capfd):
    holder: dict[str, Worker] = {}
    reports: list[int] = []

    def job():
        for i in range(1000):
            holder["w"].report(i)
            reports.append(i)
            time.sleep(0.005)
        return "ran to its end"

    worker = Worker(job, name="test-cancel")
    holder["w"] = worker
    failed: list[str] = []
    returned: list[object] = []
    worker.failed.connect(failed.append)
    worker.returned.connect(returned.append)
    worker.start()
    qtbot.waitUntil(lambda: len(reports) > 2, timeout=5000)
    worker.cancel()
    assert worker.wait(5000)
    assert failed == ["cancelled"] and returned == [] and len(reports) < 1000
    assert "Traceback" not in capfd.readouterr().err


def test_cancel_closes_a_generator_job_at_its_next_yield_with_the_reason(qtbot, capfd):
    produced: list[int] = []
    cleaned: list[str] = []

    def frames():
        try:
            for i in range(1000):
                produced.append(i)
                yield i
                time.sleep(0.005)
        finally:
            cleaned.append("partial file removed")

    worker = Worker(frames, name="test-cancel-generator")
    failed: list[str] = []
    yielded: list[int] = []
    worker.failed.connect(failed.append)
    worker.yielded.connect(yielded.append)
    worker.start()
    qtbot.waitUntil(lambda: len(yielded) > 2, timeout=5000)
    worker.cancel("the export was cancelled")
    assert worker.wait(5000)
    assert failed == ["the export was cancelled"] and cleaned == ["partial file removed"]
    assert len(produced) < 1000 and yielded == produced[: len(yielded)]
    assert "Traceback" not in capfd.readouterr().err
