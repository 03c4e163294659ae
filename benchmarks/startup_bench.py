"""Start-up of the real app: process start -> first paint of the scatter, against `import torch`.

    .venv/bin/python benchmarks/startup_bench.py [--runs 5] [--checkpoint PATH]

Starts one virtual display (Xvfb), then, interleaved so that background load hits both
alike: the real app (``.venv/bin/vae-explorer``, and ``python -m vae_explorer.gui.app``, the
same window without the CLI's parser) with $VAE_EXPLORER_STARTUP_LOG set, and
``python -c "import torch"``. The app logs the time of its first paint of the scatter and
of its model being ready; the idle app's peak memory (VmHWM) is read from /proc once the
model is ready. Prints medians, the ratio first paint / torch import (target: <= 1), the
CPU model and the load average. Settings go to a temporary file (yours are not touched).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
ENTRIES = {
    "vae-explorer gui": [str(VENV_BIN / "vae-explorer"), "gui"],
    "python -m vae_explorer.gui.app": [str(PYTHON), "-m", "vae_explorer.gui.app"],
}
TIMEOUT_S = 120


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown (no lscpu)"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    name = fields.get("Model name", "unknown").strip()
    flags = fields.get("Flags", "")
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in flags.split()]
    return f"{name}, {os.cpu_count()} CPUs ({' '.join(isa) or 'no AVX2'})"


def start_display() -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb server on a free display number (Xvfb picks it and writes it to a pipe)."""
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        raise SystemExit("error: Xvfb did not start (install it: apt-get install xvfb)")
    return server, f":{number}"


def peak_memory_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_app(command: list[str], display: str, checkpoint: Path, workdir: Path) -> dict[str, float]:
    """Seconds from process start to the first paint and to the model being ready, and the
    peak memory (MB) of the idle app once ready."""
    log = workdir / "startup.log"
    log.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "VAE_EXPLORER_STARTUP_LOG": str(log),
        "VAE_EXPLORER_SETTINGS": str(workdir / "settings.ini"),
        "VAE_EXPLORER_RECOVERY": str(workdir / "recovery"),
    }
    env.pop("WAYLAND_DISPLAY", None)
    t0 = time.time()
    proc = subprocess.Popen(
        [*command, str(checkpoint)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    events: dict[str, float] = {}
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while "model_ready" not in events:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise SystemExit(f"error: the app exited with {proc.returncode}: {err[-2000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"error: no model_ready within {TIMEOUT_S} s")
            time.sleep(0.02)
            if log.exists():
                for line in log.read_text().splitlines():
                    name, stamp, *extra = line.split()
                    events[name] = float(stamp) - t0
                    if name == "first_paint" and "torch_loaded=1" in extra:
                        events["torch_before_paint"] = 1.0
        time.sleep(1.0)  # idle a moment: the first decodes and layouts are done
        events["peak_mb"] = peak_memory_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return events


def import_torch_seconds() -> float:
    t0 = time.perf_counter()
    subprocess.run([str(PYTHON), "-c", "import torch"], check=True)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--checkpoint", type=Path, default=ROOT / "trained" / "mnist-bernoulli-z2.safetensors"
    )
    parser.add_argument("--entry", choices=[*ENTRIES, "both"], default="both")
    args = parser.parse_args()
    entries = list(ENTRIES) if args.entry == "both" else [args.entry]
    print(f"CPU: {cpu_model()}; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    server, display = start_display()
    results: dict[str, list[dict[str, float]]] = {e: [] for e in entries}
    torch_times: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            import_torch_seconds()  # warm the page cache for both sides
            for i in range(args.runs):
                for entry in entries:
                    r = run_app(ENTRIES[entry], display, args.checkpoint, workdir)
                    results[entry].append(r)
                    print(
                        f"run {i + 1} {entry}: first paint {r.get('first_paint', float('nan')):.2f} s, "
                        f"model ready {r['model_ready']:.2f} s, peak {r['peak_mb']:.0f} MB"
                        + (
                            " (torch was loaded before the first paint)"
                            if r.get("torch_before_paint")
                            else ""
                        ),
                        flush=True,
                    )
                torch_times.append(import_torch_seconds())
                print(f"run {i + 1} python -c 'import torch': {torch_times[-1]:.2f} s", flush=True)
    finally:
        server.terminate()
        server.wait()
    torch_s = statistics.median(torch_times)
    print(f"\nmedians of {args.runs} runs; load average at end {os.getloadavg()[0]:.1f}")
    print(f"  python -c 'import torch'            {torch_s:6.2f} s")
    for entry in entries:
        rows = results[entry]
        paint = statistics.median(r.get("first_paint", float("nan")) for r in rows)
        ready = statistics.median(r["model_ready"] for r in rows)
        peak = statistics.median(r["peak_mb"] for r in rows)
        print(
            f"  {entry:34s} first paint {paint:5.2f} s = {paint / torch_s:.2f}x the torch import "
            f"(target <= 1); model ready {ready:5.2f} s; idle peak memory {peak:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
