"""Runs the comparison of scripts/bench-screen-recording.sh (already under Xvfb)."""

import json
import re
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SECONDS, RUNS, SIZE = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
WIDTH, HEIGHT = (int(v) for v in SIZE.split("x"))
BIN = os.environ["LIVESTREAM_BIN"]
HZ = os.sysconf("SC_CLK_TCK")
# The overlay's chat panel (window coordinates, as tests/overlay.rs).
OVERLAY = (20, 60, 280, 300)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nginx-rtmp did not start")


def overlay_share(flv):
    """Largest share of the overlay area covered by the dark panel in any frame."""
    w, h = WIDTH // 4, HEIGHT // 4
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", flv, "-vf", f"scale={w}:{h}", "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    x0, y0, x1, y1 = (v // 4 for v in OVERLAY)
    worst, frames = 0.0, 0
    for off in range(0, len(raw) - w * h * 3 + 1, w * h * 3):
        frames += 1
        dark = total = 0
        for y in range(y0, y1):
            for x in range(x0, x1):
                i = off + (y * w + x) * 3
                total += 1
                dark += max(raw[i:i + 3]) < 60
        worst = max(worst, dark / total)
    return worst, frames


def run(kind, work):
    port = free_port()
    procs = []
    nginx = subprocess.Popen(["scripts/nginx-rtmp.sh", f"{work}/ingest", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(nginx)
    wait_port(port)
    url = f"rtmp://127.0.0.1:{port}/live/{kind}"
    env = dict(os.environ, LIVESTREAM_SOCKET=f"{work}/sock/host.sock")
    try:
        if kind == "bevy_livestream":
            encoder = subprocess.Popen(
                [f"{BIN}/livestream-host", "--headless", "--socket", env["LIVESTREAM_SOCKET"],
                 "--output", url, "--size", SIZE, "--fps", "30", "--bitrate", "2500",
                 "--preset", "veryfast", "--mic", "none", "--stay"],
                stderr=open(f"{work}/host.log", "w"))
            procs.append(encoder)
            while not os.path.exists(env["LIVESTREAM_SOCKET"]):
                time.sleep(0.1)
        # The game ends itself after the run and reports its average fps.
        game = subprocess.Popen([f"{BIN}/demo-snake", "--size", SIZE,
                                 "--duration", str(SECONDS + 8)], env=env,
                                stdout=subprocess.DEVNULL, stderr=open(f"{work}/game.log", "w"))
        procs.append(game)
        ctl = [f"{BIN}/livestream-host", "ctl", "--socket", env["LIVESTREAM_SOCKET"]]
        if kind == "bevy_livestream":
            while b'"name"' not in subprocess.run(ctl + ["status"], capture_output=True).stdout:
                time.sleep(0.2)
            for args in (["go-live"], ["show", "snake"]):
                subprocess.run(ctl + args, capture_output=True, check=True)
            for n in range(15):
                subprocess.run(ctl + ["say", "--user", "viewer", f"chat line {n}"], capture_output=True)
        else:
            time.sleep(3)  # the window is up
            encoder = subprocess.Popen(
                ["ffmpeg", "-v", "error", "-f", "x11grab", "-framerate", "30", "-video_size", SIZE,
                 "-i", os.environ["DISPLAY"], "-c:v", "libx264", "-preset", "veryfast",
                 "-b:v", "2500k", "-g", "60", "-pix_fmt", "yuv420p", "-f", "flv", url],
                stdin=subprocess.DEVNULL, stderr=open(f"{work}/ffmpeg.log", "w"))
            procs.append(encoder)
        time.sleep(3)  # settle
        g0, e0, t0 = cpu_seconds(game.pid), cpu_seconds(encoder.pid), time.monotonic()
        time.sleep(SECONDS)
        g1, e1, t1 = cpu_seconds(game.pid), cpu_seconds(encoder.pid), time.monotonic()
        span = t1 - t0
        game.wait(60)
        result = {
            "game_fps": game_fps(f"{work}/game.log"),
            "game_cores": (g1 - g0) / span,
            "encoder_cores": (e1 - e0) / span,
        }
    finally:
        for proc in reversed(procs):
            stop(proc)
    share, frames = overlay_share(f"{work}/ingest/recordings/{kind}.flv")
    result.update(overlay_area_in_stream=share, stream_frames=frames)
    return result


def game_fps(log):
    """The game's average fps over its run, from its `--duration` line."""
    text = open(log, errors="replace").read()
    match = re.search(r"--duration reached: \d+ frames in [\d.]+ s \(([\d.]+) fps\)", text)
    return float(match.group(1)) if match else None


def main():
    results = {"bevy_livestream": [], "screen_recording": []}
    for n in range(RUNS):
        for kind in results:
            with tempfile.TemporaryDirectory(prefix="livestream-bench.") as work:
                results[kind].append(run(kind, work))
    summary = {}
    for kind, runs in results.items():
        summary[kind] = {}
        for key in runs[0]:
            values = [r[key] for r in runs if r[key] is not None]
            if values:
                summary[kind][key] = {"min": min(values), "median": statistics.median(values),
                                      "max": max(values)}
    print(json.dumps({"size": SIZE, "fps": 30, "preset": "veryfast", "seconds": SECONDS,
                      "runs": RUNS, "results": summary}, indent=1))


main()
