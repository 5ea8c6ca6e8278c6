#!/usr/bin/env python3
"""Measures Mail Connections' speed and memory on this machine and prints a Markdown table.

Run inside a private keyring session after a build:
    scripts/with-keyring.sh python3 scripts/bench.py [--release]
It starts the local identity provider (tests/idp) and Xvfb itself. Figures are medians of
repeated runs; nothing here asserts a time, it only reports.
"""
import json
import os
import sqlite3
import uuid
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/mailconn/target"))
PROFILE = "release" if "--release" in sys.argv else "debug"
CLI = TARGET / PROFILE / "mailconn"
APP = TARGET / PROFILE / "mailconn-desktop"
FIX = json.loads((ROOT / "tests/idp/fixtures.json").read_text())


def median_ms(samples):
    return round(statistics.median(samples) * 1000, 1)


def timed(fn, runs):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def start_idp():
    proc = subprocess.Popen(["node", str(ROOT / "tests/idp/server.mjs"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready = json.loads(proc.stdout.readline())
    return proc, ready["base"]


def cli(data, *args, stdin=None, attention_ok=False):
    """Runs the CLI; exit code 1 ("needs attention", e.g. `status` of a broken connection) counts
    as success when `attention_ok`."""
    r = subprocess.run([str(CLI), "--data-dir", data, *args], input=stdin, capture_output=True, text=True)
    if r.returncode != 0 and not (attention_ok and r.returncode == 1):
        raise subprocess.CalledProcessError(r.returncode, r.args, r.stdout, r.stderr)
    return r.stdout


def sign_in(data, app, hint):
    proc = subprocess.Popen([str(CLI), "--data-dir", data, "--json", "connect", "--no-browser",
                             "--app", app, "--login-hint", hint], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().removeprefix("open: ").strip()
    urllib.request.urlopen(url).read()
    proc.stdout.read()
    assert proc.wait() == 0


def pss_kib(pid):
    """Proportional set size of a process and all its descendants (WebKit helpers included)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    total = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    except OSError:
        pass
    return total + sum(pss_kib(int(c)) for c in children)


def window_mapped(display):
    tree = subprocess.run(["xwininfo", "-display", display, "-root", "-tree"], capture_output=True, text=True).stdout
    return '"Mail Connections"' in tree


def app_start(data):
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x860x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    display = ":" + xvfb.stdout.readline().strip()
    home = tempfile.mkdtemp()
    env = {**os.environ, "DISPLAY": display, "HOME": home, "MAILCONN_DATA_DIR": data}
    t = time.perf_counter()
    app = subprocess.Popen([str(APP)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not window_mapped(display):
        time.sleep(0.01)
    mapped = time.perf_counter() - t
    time.sleep(5)
    pss = pss_kib(app.pid)
    app.terminate()
    app.wait()
    xvfb.terminate()
    return mapped, pss


def seed_connections(n):
    """A data directory with one app and `n` connections written straight into the database
    (display only: no tokens), for the list's figures."""
    data = tempfile.mkdtemp() + "/data"
    cli(data, "app", "add", "--name", "bulk", "--client-id", FIX["clients"]["public"]["client_id"],
        "--tenant", "common", "--public", "--authority-url", "http://127.0.0.1:9", "--graph-url", "http://127.0.0.1:9")
    db = sqlite3.connect(os.path.join(data, "mailconn.sqlite3"))
    reg = db.execute("SELECT id FROM registrations").fetchone()[0]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    states = ["active"] * 17 + ["retrying", "needs_sign_in", "needs_consent"]
    for i in range(n):
        db.execute(
            "INSERT INTO connections (id, registration_id, kind, account_key, address, display_name, tenant_id, "
            "account_type, preset, scopes_requested, scopes_granted, state, state_reason, created_at, updated_at, "
            "last_refresh_at, access_expires_at, has_refresh_token, next_refresh_at) "
            "VALUES (?, ?, 'delegated', ?, ?, ?, NULL, 'work', 'read', 'openid offline_access User.Read Mail.Read', "
            "'openid offline_access User.Read Mail.Read', ?, NULL, ?, ?, ?, ?, 1, ?)",
            (str(uuid.uuid4()), reg, f"key-{i}", f"user{i:04}@contoso.test", f"User {i}", states[i % len(states)],
             now, now, now, now, now))
    db.commit()
    db.close()
    return data


def main():
    idp, base = start_idp()
    rows = []
    try:
        data = tempfile.mkdtemp() + "/data"
        common = ["--authority-url", base, "--graph-url", "http://127.0.0.1:9"]
        cli(data, "app", "add", "--name", "desktop", "--client-id", FIX["clients"]["public"]["client_id"],
            "--tenant", "common", "--public", *common)
        cli(data, "app", "add", "--name", "web", "--client-id", FIX["clients"]["web"]["client_id"],
            "--tenant", FIX["tenants"]["contoso"]["id"], "--usage", "both", "--secret-stdin",
            "--secret-expires", "2099-01-01", *common, stdin=FIX["clients"]["web"]["secrets"][0]["value"])

        rows.append(("`mailconn doctor` (data dir, database, keychain write/read/delete)",
                     median_ms(timed(lambda: cli(data, "doctor"), 15)), "ms"))
        rows.append(("`mailconn app list --json`", median_ms(timed(lambda: cli(data, "--json", "app", "list"), 15)), "ms"))
        rows.append(("`mailconn app test` (discovery + client-credentials token)",
                     median_ms(timed(lambda: cli(data, "app", "test", "web"), 10)), "ms"))
        rows.append(("browser sign-in, end to end (CLI, loopback, local provider, keychain write)",
                     median_ms(timed(lambda: sign_in(data, "desktop", "alice@contoso.test"), 10)), "ms"))
        for _ in range(2):
            sign_in(data, "desktop", "bob@contoso.test")
        rows.append(("`mailconn list --json` (2 connections)", median_ms(timed(lambda: cli(data, "--json", "list"), 15)), "ms"))

        rows.append(("`mailconn refresh` (token request, rotation stored in the keychain, history)",
                     median_ms(timed(lambda: cli(data, "refresh", "alice@contoso.test"), 10)), "ms"))

        big = seed_connections(1000)
        rows.append(("`mailconn status --json` (1,000 connections)",
                     median_ms(timed(lambda: cli(big, "--json", "status", attention_ok=True), 10)), "ms"))
        rows.append(("`mailconn list --json` (1,000 connections)",
                     median_ms(timed(lambda: cli(big, "--json", "list"), 10)), "ms"))
        out = subprocess.run(["node", str(ROOT / "tests/e2e/bench-list.mjs"), big, "1000"], check=True,
                             capture_output=True, text=True, env={**os.environ, "MAILCONN_APP": str(APP),
                                                                  "MAILCONN_CLI": str(CLI)}).stdout
        shown = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
        rows.append(("desktop app: Apps -> Connections with 1,000 connections, click to rows shown",
                     shown["median_ms"], "ms"))
        rows.append(("desktop app: one wheel-scroll frame (300 px) through 1,000 connections",
                     shown["wheel_frame_ms"], "ms"))
        rows.append(("  of which script and layout (Svelte update, windowing, layout; no paint)",
                     shown["wheel_script_layout_ms"], "ms"))
        rows.append(("  one frame without scrolling (the window's own repaint cost here)", shown["idle_frame_ms"], "ms"))
        small = seed_connections(30)
        out = subprocess.run(["node", str(ROOT / "tests/e2e/bench-list.mjs"), small, "30"], check=True,
                             capture_output=True, text=True, env={**os.environ, "MAILCONN_APP": str(APP),
                                                                  "MAILCONN_CLI": str(CLI)}).stdout
        few = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
        rows.append(("desktop app: Apps -> Connections with 30 connections, for comparison", few["median_ms"], "ms"))
        rows.append(("desktop app: one wheel-scroll frame (300 px) through 30 connections", few["wheel_frame_ms"], "ms"))

        starts, pss = [], []
        for _ in range(5):
            s, p = app_start(data)
            starts.append(s)
            pss.append(p)
        rows.append(("desktop app: launch to window mapped (Xvfb)", median_ms(starts), "ms"))
        rows.append(("desktop app: memory after start, app + WebKit processes (PSS)",
                     round(statistics.median(pss) / 1024, 1), "MiB"))
    finally:
        idp.terminate()

    print(f"| measure ({PROFILE} build, {os.cpu_count()} cores) | median | unit |")
    print("|---|---|---|")
    for name, value, unit in rows:
        print(f"| {name} | {value} | {unit} |")


if __name__ == "__main__":
    main()
