#!/usr/bin/env python3
"""Mail Connections' benchmark: writes docs/benchmarks.md (the machine, the date, raw numbers of
every run, medians, ratios, each comparison side by side in the same run, and the goals table).

Run it through scripts/bench.sh, which installs what it needs, builds release and runs this inside
a private D-Bus session with its own GNOME Keyring (scripts/with-keyring.sh):

    scripts/bench.sh                          # everything, 1,000 connections, into docs/benchmarks.md
    scripts/bench.sh --only refresh           # one section (refresh, mailboxes, window, sizes, cli)
    scripts/bench.sh --connections 200 --runs 3
    scripts/bench.sh --quick                  # 50 connections, 1 run, into $MAILCONN_ARTIFACTS

Nothing here asserts a time; it only measures and reports. A part that cannot run in this build
(sealed mode before the sealed store exists, the window figures before tests/e2e/bench-app.mjs
exists) is reported as such, never estimated.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/mailconn/target"))
FIX = json.loads((ROOT / "tests/idp/fixtures.json").read_text())
PUBLIC = FIX["clients"]["public"]["client_id"]
WEB = FIX["clients"]["web"]
CONTOSO = FIX["tenants"]["contoso"]["id"]
VENV = Path(os.environ.get("MAILCONN_BENCH_VENV", Path.home() / ".cache/mailconn/bench-venv"))
CONCURRENCY = 4  # the CLI's refresh-all concurrency (EngineConfig), also the load generator's
SECTIONS = ["refresh", "mailboxes", "window", "sizes", "cli"]

ARGS = None
CLI = APP = SS_BENCH = None


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---- measuring -------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid):
    """User + system CPU seconds a live process has used (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def keyring_pids():
    """The GNOME Keyring daemons of this session (with-keyring.sh records each start)."""
    f = Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / "keyring.pids"
    try:
        return [int(p) for p in f.read_text().split() if Path(f"/proc/{p}").exists()]
    except OSError:
        return []


class Cpu:
    """CPU seconds of the keyring daemon, the identity provider (and Graph stand-in) and this
    script's waited-for children (the CLI, ab, MSAL's Python) across a block."""

    def __init__(self, **servers):
        self.servers = servers

    def __enter__(self):
        self.t = time.perf_counter()
        self.kr = {p: proc_cpu_s(p) for p in keyring_pids()}
        self.sv = {k: proc_cpu_s(p) for k, p in self.servers.items()}
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.ch = ru.ru_utime + ru.ru_stime
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.child = ru.ru_utime + ru.ru_stime - self.ch
        self.keyring = sum(proc_cpu_s(p) - self.kr.get(p, 0.0) for p in keyring_pids())
        self.server = {k: proc_cpu_s(p) - self.sv[k] for k, p in self.servers.items()}
        return False

    def figures(self):
        out = {"wall_s": round(self.wall, 3), "client_cpu_s": round(self.child, 2),
               "keyring_cpu_s": round(self.keyring, 2)}
        out.update({f"{k}_cpu_s": round(v, 2) for k, v in self.server.items()})
        return out


class SecretServiceCalls:
    """Counts the Secret Service method calls on the session bus while it runs (dbus-monitor):
    what the keychain really did (writes = CreateItem + SetSecret)."""

    MEMBERS = ("OpenSession", "SearchItems", "GetSecrets", "GetSecret", "CreateItem", "SetSecret", "Delete",
               "Unlock", "ReadAlias")

    def __enter__(self):
        rules = [f"type='method_call',interface='org.freedesktop.Secret.{i}'"
                 for i in ("Service", "Collection", "Item", "Session")]
        self.out = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(["dbus-monitor", "--session", "--profile", *rules], stdout=self.out,
                                     stderr=subprocess.DEVNULL, text=True)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)
        self.proc.terminate()
        self.proc.wait()
        self.out.seek(0)
        counts = dict.fromkeys(self.MEMBERS, 0)
        for line in self.out:
            parts = line.split("\t")
            if len(parts) > 6 and parts[0] == "mc" and parts[-1].strip() in counts:
                counts[parts[-1].strip()] += 1
        self.out.close()
        self.counts = counts
        self.writes = counts["CreateItem"] + counts["SetSecret"]
        return False


def median(xs):
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def fmt(x, digits=2):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


# ---- the servers -----------------------------------------------------------------------------

def start_node(script, *args, env=None):
    proc = subprocess.Popen(["node", str(ROOT / script), "--port", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, **(env or {})})
    ready = json.loads(proc.stdout.readline())
    return proc, ready["base"]


def http_json(method, url, body=None, form=None, headers=None):
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["content-type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs["content-type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def cli(data, *args, stdin=None, ok=(0,)):
    r = subprocess.run([str(CLI), "--data-dir", data, *args], input=stdin, capture_output=True, text=True)
    if r.returncode not in ok:
        raise RuntimeError(f"mailconn {' '.join(args)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r.stdout


def sign_in(data, app, hint):
    proc = subprocess.Popen([str(CLI), "--data-dir", data, "--json", "connect", "--no-browser", "--app", app,
                             "--login-hint", hint], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().removeprefix("open: ").strip()
    urllib.request.urlopen(url).read()
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError(f"sign-in of {hint} failed")
    return out


def secret_tool_lookup(account):
    r = subprocess.run(["secret-tool", "lookup", "service", "mailconn", "username", account],
                       capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def ss_bench(*args, stdin=None):
    r = subprocess.run([str(SS_BENCH), *args], input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ss-bench {' '.join(args)}: {r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def ab(url, n, body=None, headers=()):
    """`ab -n N -c 4 -k`: N requests, count-based, keep-alive; its figures and failures."""
    cmd = ["ab", "-q", "-n", str(n), "-c", str(min(CONCURRENCY, n)), "-k", "-s", "60"]
    tmp = None
    if body is not None:
        tmp = tempfile.NamedTemporaryFile("w", delete=False)
        tmp.write(body)
        tmp.close()
        cmd += ["-p", tmp.name, "-T", "application/x-www-form-urlencoded"]
    for h in headers:
        cmd += ["-H", h]
    cmd.append(url)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if tmp:
        os.unlink(tmp.name)
    if r.returncode != 0:
        raise RuntimeError(f"ab failed: {r.stderr.strip()}")
    out = r.stdout
    num = lambda pat: float(re.search(pat, out).group(1)) if re.search(pat, out) else 0.0
    res = {"requests": int(num(r"Complete requests:\s+(\d+)")), "failed": int(num(r"Failed requests:\s+(\d+)")),
           "non_2xx": int(num(r"Non-2xx responses:\s+(\d+)")), "ab_s": num(r"Time taken for tests:\s+([\d.]+)")}
    if res["failed"] or res["non_2xx"] or res["requests"] != n:
        raise RuntimeError(f"the load generator's requests did not all succeed: {res}")
    return res


# ---- seeding 1,000 delegated connections -----------------------------------------------------

def seed(data, idp_base, n):
    """N delegated connections as `mailconn connect` leaves them: one real sign-in (the template:
    its row, its history entry, its refresh token in the keychain), then N-1 more grants of the
    same shape minted by the provider for generated users (real refresh tokens it accepts), rows
    cloned from the template's with each user's identity, and their tokens written to the
    keychain over one Secret Service session (ss-bench seed), as `connect` would have."""
    timings = {}
    t = time.perf_counter()
    sign_in(data, "bench", "bench00000@contoso.test")
    timings["template_sign_in_s"] = time.perf_counter() - t
    db = sqlite3.connect(os.path.join(data, "mailconn.sqlite3"))
    db.row_factory = sqlite3.Row
    tpl = dict(db.execute("SELECT * FROM connections").fetchone())
    tid = tpl["id"]
    rt = secret_tool_lookup(f"refresh-token/{tid}")
    if not rt:
        raise RuntimeError("the template sign-in's refresh token is not in the keychain")
    t = time.perf_counter()
    minted = http_json("POST", f"{idp_base}/_control/bench/refresh-tokens",
                       {"refresh_token": rt, "count": n - 1, "first": 1})["tokens"] if n > 1 else []
    timings["mint_s"] = time.perf_counter() - t

    # Every table with a connection_id (history entries) gets the template's rows too.
    related = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
               if "connection_id" in [c[1] for c in db.execute(f"PRAGMA table_info({r[0]})")]]
    tpl_related = {tbl: [dict(r) for r in db.execute(f"SELECT * FROM {tbl} WHERE connection_id = ?", (tid,))]
                   for tbl in related}
    old = {"id": tid, "oid": "be7c0000-0000-4000-8000-000000000000", "upn": "bench00000@contoso.test",
           "name": "Bench User 00000"}

    def swap(value, new):
        if not isinstance(value, str):
            return value
        for k in ("id", "oid", "upn", "name"):
            value = value.replace(old[k], new[k])
        return value

    t = time.perf_counter()
    lines = []
    with db:
        for m in minted:
            new = {"id": str(uuid.uuid4()), "oid": m["oid"], "upn": m["upn"], "name": m["name"]}
            row = {k: swap(v, new) for k, v in tpl.items()}
            db.execute(f"INSERT INTO connections ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       list(row.values()))
            for tbl, rows in tpl_related.items():
                for r in rows:
                    r = {k: swap(v, new) for k, v in r.items() if not (k == "id" and isinstance(v, int))}
                    db.execute(f"INSERT INTO {tbl} ({', '.join(r)}) VALUES ({', '.join('?' * len(r))})",
                               list(r.values()))
            lines.append(f"refresh-token/{new['id']}\t{m['refresh_token']}")
    timings["sqlite_s"] = time.perf_counter() - t
    db.close()
    t = time.perf_counter()
    if lines:
        ss_bench("seed", "--service", "mailconn", stdin="\n".join(lines) + "\n")
    timings["keychain_s"] = time.perf_counter() - t
    listed = json.loads(cli(data, "--json", "list"))
    if len(listed) != n:
        raise RuntimeError(f"seeded {len(listed)} connections, wanted {n}")
    # The template's own token stays valid after its rotations (as at Microsoft), so MSAL and the
    # load generator get all N.
    return {k: round(v, 3) for k, v in timings.items()}, [rt] + [m["refresh_token"] for m in minted], rt


def refresh_all(data, idp):
    """One `mailconn refresh --all`: wall, CPU of the CLI, the keyring and the provider, the
    keychain calls made, and how many refreshes succeeded."""
    with SecretServiceCalls() as calls, Cpu(provider=idp.pid) as cpu:
        r = subprocess.run([str(CLI), "--data-dir", data, "--json", "refresh", "--all"], capture_output=True,
                           text=True)
    reports = json.loads(r.stdout) if r.stdout.strip().startswith("[") else []
    ok = sum(1 for x in reports if not x.get("error"))
    if r.returncode != 0 or ok != len(reports):
        errors = [x["error"]["message"] for x in reports if x.get("error")][:3]
        raise RuntimeError(f"refresh --all: exit {r.returncode}, {ok}/{len(reports)} refreshed {errors} "
                           f"{r.stderr.strip()[-500:]}")
    requested = sum(1 for x in reports if x.get("requested"))
    if requested != len(reports):
        raise RuntimeError(f"refresh --all asked for only {requested} of {len(reports)} tokens")
    return {**cpu.figures(), "refreshed": ok, "rotated": sum(1 for x in reports if x.get("rotated")),
            "keychain_writes": calls.writes, "keychain_calls": calls.counts}


def storage_modes():
    """Whether this build has `mailconn storage` (the sealed store)."""
    r = subprocess.run([str(CLI), "storage", "--help"], capture_output=True, text=True)
    return r.returncode == 0


MSAL_SCRIPT = r"""
import json, sys, time, msal, requests
cfg = json.load(sys.stdin)
base, https = cfg["base"], cfg["base"].replace("http://", "https://", 1)
class Loopback(requests.Session):
    # MSAL accepts only https authorities; this maps https://127.0.0.1:PORT to the provider's
    # plain loopback port (the CLI's transport too) and the discovery document's URLs back.
    def request(self, method, url, *a, **kw):
        if url.startswith(https):
            url = base + url[len(https):]
        r = super().request(method, url, *a, **kw)
        if "openid-configuration" in url:
            r._content = r.content.replace(base.encode(), https.encode())
        return r
app = msal.PublicClientApplication(cfg["client_id"], authority=https + "/common", http_client=Loopback(),
                                   instance_discovery=False)
# MSAL adds openid, profile and offline_access itself and refuses them in the list.
scopes = [x for x in cfg["scopes"] if x not in ("openid", "profile", "offline_access")]
app.acquire_token_by_refresh_token(cfg["tokens"][0], scopes)  # discovery, outside the timing
t = time.perf_counter()
ok = 0
errors = []
for rt in cfg["tokens"]:
    r = app.acquire_token_by_refresh_token(rt, scopes)
    if "access_token" in r:
        ok += 1
    else:
        errors.append(r.get("error_description", str(r))[:200])
print(json.dumps({"s": time.perf_counter() - t, "ok": ok, "errors": errors[:3], "msal": msal.__version__}))
"""


def msal_run(idp, base, tokens, scopes):
    py = VENV / "bin/python"
    if not py.exists():
        return None
    cfg = json.dumps({"base": base, "client_id": PUBLIC, "tokens": tokens, "scopes": scopes})
    with Cpu(provider=idp.pid) as cpu:
        r = subprocess.run([str(py), "-c", MSAL_SCRIPT], input=cfg, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"MSAL: {r.stderr.strip()[-1500:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if out["ok"] != len(tokens):
        raise RuntimeError(f"MSAL refreshed {out['ok']}/{len(tokens)}: {out['errors']}")
    return {**cpu.figures(), "wall_s": round(out["s"], 3), "msal": out["msal"]}


def section_refresh(doc, n, runs):
    res = {"connections": n, "runs": runs}
    idp, base = start_node("tests/idp/server.mjs")
    tmp = tempfile.mkdtemp(prefix="mailconn-bench-")
    data = f"{tmp}/data"
    try:
        cli(data, "app", "add", "--name", "bench", "--client-id", PUBLIC, "--tenant", "common", "--public",
            "--authority-url", base, "--graph-url", "http://127.0.0.1:9")
        log(f"seeding {n} delegated connections")
        with Cpu(provider=idp.pid) as cpu:
            res["seed"], tokens, template_rt = seed(data, base, n)
        res["seed"].update({k: v for k, v in cpu.figures().items() if k != "wall_s"}, total_s=round(cpu.wall, 3))

        res["keychain"] = []
        for i in range(runs):
            log(f"keychain mode: refresh --all, run {i + 1}/{runs}")
            res["keychain"].append(refresh_all(data, idp))
        # The exact token request the CLI sent (its scope), for the load generator and MSAL.
        entry = next(e for e in reversed(http_json("GET", f"{base}/_control/log"))
                     if e.get("grant_type") == "refresh_token" and e.get("status") == 200)
        scope = entry["scope"]
        res["token_request_scope"] = scope

        # The same number of item writes from a raw Secret Service client over one session, in a
        # keyring of its own: passes like the refresh runs, the second on as many items as the
        # refresh replaced (its steady state).
        writes = res["keychain"][-1]["keychain_writes"]
        at = next((secret_tool_lookup(f"access-token/{json.loads(cli(data, '--json', 'list'))[0]['id']}/{a}")
                   for a in ("graph", "outlook")), None) or ""
        value_bytes = max(1, round((len(template_rt) + len(at)) / 2)) if at else len(template_rt)
        res["raw_value_bytes"] = value_bytes
        log(f"raw Secret Service client: {writes} writes x {runs} runs")
        # Inside the nested session: each pass under /usr/bin/time (ss-bench's CPU), then the
        # keyring daemon's CPU ticks so far.
        ticks = "awk '{print \"ticks \" $14+$15}' /proc/$(tail -n 1 \"$XDG_RUNTIME_DIR/keyring.pids\")/stat"
        # Each run: `replace` creates the items before its clock starts, then times as many
        # replacements (so the keyring holds as many items as the refresh's did). --bytes is
        # this ss-bench's; one without it writes its own values.
        one = (f"(/usr/bin/time -f 'cpu %U %S' '{SS_BENCH}' replace --service mailconn-raw --count {writes} "
               f"--bytes {value_bytes} 2>&1 || /usr/bin/time -f 'cpu %U %S' '{SS_BENCH}' replace --service "
               f"mailconn-raw --count {writes} 2>&1)")
        script = "set -e; " + ticks + "; " + "; ".join(f"{one}; {ticks}" for _ in range(runs))
        env = {k: v for k, v in os.environ.items() if k != "MAILCONN_KEYRING_SESSION"}
        r = subprocess.run([str(ROOT / "scripts/with-keyring.sh"), "sh", "-c", script], capture_output=True,
                           text=True, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"ss-bench: {r.stderr.strip()} {r.stdout.strip()}")
        raw, tick, cpu_s = [], [], []
        for line in r.stdout.splitlines():
            if line.startswith("{"):
                raw.append(json.loads(line))
            elif line.startswith("ticks "):
                tick.append(int(line.split()[1]))
            elif line.startswith("cpu "):
                cpu_s.append(sum(float(x) for x in line.split()[1:]))
        for i, x in enumerate(raw):
            x["wall_s"] = round(x["ms"] / 1000, 3)
            x["client_cpu_s"] = round(cpu_s[i], 2) if i < len(cpu_s) else None
            # (the daemon's CPU includes creating the items before the clock starts)
            x["keyring_cpu_s"] = round((tick[i + 1] - tick[i]) / CLK_TCK, 2) if i + 1 < len(tick) else None
        res["raw"] = raw

        # (a) the load generator: the same token request, N times, at the CLI's concurrency.
        body = urllib.parse.urlencode({"client_id": PUBLIC, "grant_type": "refresh_token",
                                       "refresh_token": tokens[0], "scope": scope})
        res["loadgen"] = []
        for i in range(runs):
            log(f"load generator: {n} token requests, run {i + 1}/{runs}")
            with Cpu(provider=idp.pid) as cpu:
                a = ab(f"{base}/common/oauth2/v2.0/token", n, body=body)
            res["loadgen"].append({**cpu.figures(), "wall_s": a["ab_s"]})

        # (c) MSAL for Python, sequential, in-memory token cache, the same refresh tokens.
        res["msal"] = []
        if not ARGS.no_msal:
            for i in range(runs):
                log(f"MSAL for Python: {len(tokens)} refreshes, run {i + 1}/{runs}")
                m = msal_run(idp, base, tokens, scope.split())
                if m is None:
                    res["msal_missing"] = f"no MSAL venv at {VENV} (scripts/bench.sh makes it)"
                    break
                res["msal"].append(m)

        # Sealed mode: migrate, then the same refresh-all.
        res["sealed"] = []
        if storage_modes():
            log("sealed mode: mailconn storage set sealed")
            with SecretServiceCalls() as calls, Cpu() as cpu:
                cli(data, "storage", "set", "sealed")
            res["migrate_to_sealed"] = {**cpu.figures(), "keychain_calls": calls.counts}
            for i in range(runs):
                log(f"sealed mode: refresh --all, run {i + 1}/{runs}")
                res["sealed"].append(refresh_all(data, idp))
        else:
            res["sealed_missing"] = "sealed mode: not available in this build (`mailconn storage` is absent)"
    finally:
        idp.terminate()
        idp.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    doc["refresh"] = res


# ---- application access: organisation mailboxes ----------------------------------------------

def section_mailboxes(doc, n, runs):
    res = {"mailboxes": n, "runs": runs}
    idp, base = start_node("tests/idp/server.mjs")
    graph, gbase = start_node("tests/graph/server.mjs", "--idp", base, env={"GRAPH_GENERATED_USERS": str(max(n, 60))})
    tmp = tempfile.mkdtemp(prefix="mailconn-bench-")
    data = f"{tmp}/data"
    try:
        cli(data, "app", "add", "--name", "org", "--client-id", WEB["client_id"], "--tenant", CONTOSO,
            "--usage", "application", "--secret-stdin", "--secret-expires", "2099-01-01", "--authority-url", base,
            "--graph-url", gbase, stdin=WEB["secrets"][0]["value"])
        addresses = tmp + "/addresses.txt"
        Path(addresses).write_text("".join(f"user{i:02}@contoso.test\n" for i in range(1, n + 1)))
        log(f"mailbox add: {n} organisation mailboxes")
        http_json("DELETE", f"{gbase}/_control/log")
        with Cpu(provider=idp.pid, graph=graph.pid) as cpu:
            out = cli(data, "--json", "mailbox", "add", "--app", "org", "--from-file", addresses)
        res["add"] = cpu.figures()
        added = json.loads(out)
        res["add"]["graph_requests"] = len(http_json("GET", f"{gbase}/_control/log"))
        res["add_summary"] = {k: v for k, v in added.items() if isinstance(v, (int, str))} if isinstance(added, dict) else {}
        listed = json.loads(cli(data, "--json", "list"))
        if len(listed) != n:
            raise RuntimeError(f"mailbox add left {len(listed)} connections, wanted {n}")

        res["check"] = []
        for i in range(runs):
            log(f"checking {n} organisation mailboxes (refresh --all), run {i + 1}/{runs}")
            http_json("DELETE", f"{gbase}/_control/log")
            with Cpu(provider=idp.pid, graph=graph.pid) as cpu:
                r = subprocess.run([str(CLI), "--data-dir", data, "--json", "refresh", "--all"], capture_output=True,
                                   text=True)
            reports = json.loads(r.stdout or "[]")
            bad = [x for x in reports if x.get("error")]
            if r.returncode != 0 or bad or len(reports) != n:
                raise RuntimeError(f"check of the mailboxes: exit {r.returncode}, {len(bad)} failed")
            glog = http_json("GET", f"{gbase}/_control/log")
            res["check"].append({**cpu.figures(), "graph_requests": len(glog)})
        # The Graph requests a check sends, by kind (the mailbox's address taken out), each kind
        # replayed by the load generator as often as the check sent it, one kind after another.
        kinds = {}
        for e in glog:
            if e.get("status") != 200:
                continue
            path = e["path"] + (("?" + e["query"]) if e.get("query") else "")
            shape = re.sub(r"c0c00000-0000-4000-8000-\d{12}", "{id}", re.sub(r"user\d+@", "userNN@", path))
            kinds.setdefault(shape, [path, 0])[1] += 1
        res["check_requests"] = {k: v[1] for k, v in kinds.items()}
        res["graph_requests_per_mailbox"] = round(len(glog) / n, 2)
        token = http_json("POST", f"{base}/{CONTOSO}/oauth2/v2.0/token", form={
            "client_id": WEB["client_id"], "client_secret": WEB["secrets"][0]["value"],
            "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"})["access_token"]
        res["loadgen"] = []
        for i in range(runs):
            log(f"load generator: {len(glog)} Graph requests, run {i + 1}/{runs}")
            with Cpu(provider=idp.pid, graph=graph.pid) as cpu:
                wall = sum(ab(gbase + path, count, headers=[f"Authorization: Bearer {token}"])["ab_s"]
                           for path, count in kinds.values())
            res["loadgen"].append({**cpu.figures(), "wall_s": round(wall, 3),
                                   "requests": sum(c for _, c in kinds.values())})
    finally:
        for p in (graph, idp):
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    doc["mailboxes"] = res


# ---- the window (tests/e2e/bench-app.mjs) ----------------------------------------------------

def section_window(doc):
    script = ROOT / "tests/e2e/bench-app.mjs"
    if not script.exists():
        doc["window"] = {"missing": "not measured in this run (tests/e2e/bench-app.mjs is not in this build)"}
        return
    log("window figures: tests/e2e/bench-app.mjs")
    env = {**os.environ, "MAILCONN_APP": str(APP), "MAILCONN_CLI": str(CLI)}
    bare = os.environ.get("MAILCONN_BARE_WINDOW")  # bench.sh builds it (bench/bare-window/build.sh)
    cmd = ["node", str(script), "--runs", "1" if ARGS.quick else "3", *(["--bare", bare] if bare else [])]
    if ARGS.quick:
        cmd += ["--counts", "0,100", "--idle-seconds", "5", "--figures", "launch,memory,signin"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    # The object may span lines, and other programs (D-Bus, WebKit) print before it.
    lines = r.stdout.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("{")), None)
    if r.returncode != 0 or start is None:
        doc["window"] = {"missing": f"not measured in this run (bench-app.mjs exited {r.returncode}: "
                                    f"{r.stderr.strip()[-300:]})"}
        return
    doc["window"] = {"figures": json.loads("\n".join(lines[start:]))}


# ---- sizes -----------------------------------------------------------------------------------

def section_sizes(doc):
    res = {"binaries": {}}
    for b in (APP, CLI):
        if b.exists():
            res["binaries"][b.name] = b.stat().st_size
        else:
            res.setdefault("binaries_missing", []).append(b.name)
    pkg = ROOT / "scripts/package.sh"
    if not pkg.exists():
        res["packages_missing"] = "no scripts/package.sh in this build: no packages to measure"
    else:
        bundle = TARGET / "release/bundle"
        found = {}
        for f in sorted(bundle.rglob("*")) if bundle.exists() else []:
            # The packages themselves, not the bundler's unpacked trees (their .gz manual pages).
            if f.is_file() and f.suffix in (".deb", ".rpm", ".AppImage", ".dmg", ".msi"):
                found[str(f.relative_to(bundle))] = f.stat().st_size
        for f in sorted((ROOT / "dist").glob("*")) if (ROOT / "dist").exists() else []:
            if f.is_file():
                found[f"dist/{f.name}"] = f.stat().st_size
        res["packages"] = found
        if not found:
            res["packages_missing"] = "scripts/package.sh exists, but no package was built (run it first)"
    doc["sizes"] = res


# ---- the older CLI figures -------------------------------------------------------------------

def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def section_cli(doc):
    idp, base = start_node("tests/idp/server.mjs")
    tmp = tempfile.mkdtemp(prefix="mailconn-bench-")
    data = f"{tmp}/data"
    rows = []
    try:
        common = ["--authority-url", base, "--graph-url", "http://127.0.0.1:9"]
        cli(data, "app", "add", "--name", "desktop", "--client-id", PUBLIC, "--tenant", "common", "--public", *common)
        cli(data, "app", "add", "--name", "web", "--client-id", WEB["client_id"], "--tenant", CONTOSO, "--usage",
            "both", "--secret-stdin", "--secret-expires", "2099-01-01", *common, stdin=WEB["secrets"][0]["value"])
        k = 3 if ARGS.quick else 10
        rows.append(("`mailconn doctor` (data dir, database, keychain write/read/delete)",
                     timed(lambda: cli(data, "doctor"), k)))
        rows.append(("`mailconn app list --json`", timed(lambda: cli(data, "--json", "app", "list"), k)))
        rows.append(("`mailconn app test` (discovery + client-credentials token)",
                     timed(lambda: cli(data, "app", "test", "web"), k)))
        rows.append(("browser sign-in, end to end (CLI process, loopback, local provider, keychain write)",
                     timed(lambda: sign_in(data, "desktop", "alice@contoso.test"), k)))
        rows.append(("`mailconn refresh` of one connection (CLI process, token request, rotation stored)",
                     timed(lambda: cli(data, "refresh", "alice@contoso.test"), k)))
        rows.append(("`mailconn list --json` (1 connection)", timed(lambda: cli(data, "--json", "list"), k)))
    finally:
        idp.terminate()
        idp.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    doc["cli"] = [{"measure": m, "runs_ms": [round(x * 1000, 1) for x in xs]} for m, xs in rows]


# ---- the machine -----------------------------------------------------------------------------

def version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    distro = next((l.split("=", 1)[1].strip('"') for l in Path("/etc/os-release").read_text().splitlines()
                   if l.startswith("PRETTY_NAME=")), "unknown")
    gk = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "gnome-keyring"], capture_output=True, text=True)
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem / 1024 / 1024, 1), "kernel": platform.release(),
        "distro": distro, "rustc": version(["rustc", "-V"]), "node": version(["node", "-v"]),
        "gnome_keyring": (gk.stdout.strip() if gk.returncode == 0 else version(["gnome-keyring-daemon", "--version"])),
        "load_before": Path("/proc/loadavg").read_text().split()[:3],
        "ab": version(["ab", "-V"]).replace(" <$Revision$>", ""), "python": platform.python_version(),
        "commit": version(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"]),
        "dirty": bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                     capture_output=True, text=True).stdout.strip()),
    }


# ---- the document ----------------------------------------------------------------------------

def walls(runs, key="wall_s"):
    return [r[key] for r in runs or []]


def runs_cell(runs, key="wall_s"):
    xs = walls(runs, key)
    return ", ".join(fmt(x) for x in xs) if xs else "–"


def steady(runs):
    """The runs after the first (the first keychain run also creates the access-token items)."""
    return runs[1:] if len(runs) > 1 else runs


def goals(doc):
    """The issue's goals from the figures: (goal, figure, met?)."""
    out = []
    r = doc.get("refresh")
    if r:
        kc = median(walls(steady(r["keychain"])))
        raw = median([x["ms"] / 1000 for x in r["raw"]])
        lg = median(walls(r["loadgen"]))
        sealed = median(walls(r.get("sealed")))
        msal = median(walls(r.get("msal")))
        q = ratio(kc, raw)
        out.append(("Keychain mode: refresh-all within 1.1x the raw Secret Service client's time for the same writes",
                    f"{fmt(kc)} s vs {fmt(raw)} s = {fmt(q)}x", None if q is None else q <= 1.1))
        q = ratio(sealed, lg)
        out.append(("Sealed mode: refresh-all within 1.25x the load generator's time",
                    f"{fmt(sealed)} s vs {fmt(lg)} s = {fmt(q)}x" if sealed else r.get("sealed_missing"),
                    None if q is None else q <= 1.25))
        q = ratio(msal, sealed)
        out.append(("Sealed mode: at least 5x faster than MSAL for Python sequential",
                    f"MSAL {fmt(msal)} s vs {fmt(sealed)} s = {fmt(q)}x" if sealed and msal else
                    (r.get("sealed_missing") or r.get("msal_missing") or "not measured"),
                    None if q is None else q >= 5))
    w = doc.get("window", {}).get("figures")
    for goal, figure, met in window_goals(w):
        out.append((goal, figure, met))
    return out


def pick(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def window_goals(w):
    """The window goals from the JSON object tests/e2e/bench-app.mjs prints (its key names)."""
    missing = "not measured in this run"
    w = w or {}
    g = w.get
    out = []
    bare = g("launch_to_interactive_ms_bare_window")
    apps = {c: g(f"launch_to_interactive_ms_{c}_connections") for c in (0, 1000, 10000)}
    worst = max([v for v in apps.values() if v is not None], default=None)
    q = ratio(worst, bare)
    out.append(("Launch to interactive within 1.15x the bare window (the slowest of 0, 1,000, 10,000 connections)",
                ", ".join(f"{c:,}: {fmt(v)} ms" for c, v in apps.items() if v is not None)
                + f" vs bare {fmt(bare)} ms = {fmt(q)}x" if q else missing, None if q is None else q <= 1.15))
    app, bare = g("pss_idle_kib_1000_connections"), g("pss_idle_kib_bare_window")
    q = ratio(app, bare)
    cpu_bare = g("pss_idle_kib_bare_window_painting_like_the_app")
    same = (f"; the bare window also painting as the app has WebKit paint without a GPU device (CPU "
            f"rendering, no GL compositing): {fmt(cpu_bare / 1024)} MiB = {fmt(ratio(app, cpu_bare))}x") if q and cpu_bare else ""
    out.append(("PSS (app + WebKit processes) idle with 1,000 connections within 1.2x the bare window",
                f"{fmt(app / 1024)} MiB vs {fmt(bare / 1024)} MiB = {fmt(q)}x{same}" if q else missing,
                None if q is None else q <= 1.2))
    wake, bare_wake = g("idle_wakeups_100_connections"), g("idle_wakeups_bare_window")
    outside = g("idle_wakeups_per_s_outside_scheduled_repaints_100_connections")
    bare_rate = g("idle_wakeups_per_s_bare_window")
    repaints = g("idle_scheduled_repaints_100_connections")
    if wake is not None and bare_wake is not None and outside is not None:
        figure = (f"{fmt(wake)} wake-ups in all ({fmt(g('idle_cpu_ms_100_connections'))} ms CPU), of them "
                  f"{fmt(g('idle_wakeups_in_scheduled_repaints_100_connections'))} in {fmt(repaints)} scheduled "
                  f"repaint(s) of the relative times (one repaint: app {fmt(g('one_repaint_wakeups_app'))}, bare "
                  f"{fmt(g('one_repaint_wakeups_bare_window'))}); outside them {fmt(outside)}/s vs bare "
                  f"{fmt(bare_rate)}/s ({fmt(bare_wake)} in all, {fmt(g('idle_cpu_ms_bare_window'))} ms CPU)")
    elif wake is not None:
        figure = f"{fmt(wake)} wake-ups"
    else:
        figure = missing
    out.append((f"Idle {g('idle_seconds') or 60} s with 100 connections (nothing due): no wake-ups beyond scheduled "
                "work (the relative times' repaints), i.e. outside them none beyond the bare window's own",
                figure, None if outside is None or bare_rate is None else outside <= bare_rate))
    own = g("signin_own_work_ms")
    out.append(("A browser sign-in's own work (loopback callback to the connection shown) under 30 ms",
                f"{fmt(own)} ms (of {fmt(g('signin_callback_to_shown_ms'))} ms; the provider "
                f"{fmt(g('signin_identity_provider_ms'))} ms)" if own is not None else missing,
                None if own is None else own < 30))
    frames = {name: (g(f"list_10000_{key}_script_layout_ms_median"), g(f"list_10000_{key}_script_layout_ms_p95"))
              for name, key in (("scroll", "scroll_300px"), ("search", "search_keystroke"), ("sort", "sort_change"))}
    known = {k: v for k, v in frames.items() if v[0] is not None}
    out.append(("List at 10,000 connections: frames under 16 ms of script (scroll, search, sort; median, p95)",
                ", ".join(f"{k} {fmt(m)} / {fmt(p)} ms" for k, (m, p) in known.items()) or missing,
                None if not known else all(m < 16 and (p is None or p < 16) for m, p in known.values())))
    return out


def flatten(d, prefix=""):
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from flatten(v, key + ".")
        else:
            yield key, v


def render(doc):
    m = doc["machine"]
    L = []
    add = L.append
    add("# Benchmarks")
    add("")
    add(f"Written by `scripts/bench.py{(' ' + doc['args']) if doc['args'] else ''}` (what `scripts/bench.sh` runs) "
        f"on {doc['date']} "
        f"(took {doc['took_s'] / 60:.1f} minutes). {doc['profile'].capitalize()} build of commit `{m['commit']}`"
        f"{' with uncommitted changes' if m['dirty'] else ''}. Every comparison below ran in this one run, on this "
        "machine, against the local identity provider (tests/idp) and Graph stand-in (tests/graph) on loopback, "
        "inside a private D-Bus session with its own GNOME Keyring. Nothing here is a test: no figure is asserted.")
    add("")
    add("| machine | |")
    add("|---|---|")
    for k, label in (("cpu", "CPU"), ("cores", "cores"), ("ram_gib", "RAM (GiB)"), ("kernel", "kernel"),
                     ("distro", "distribution"), ("rustc", "rustc"), ("node", "Node.js"),
                     ("gnome_keyring", "GNOME Keyring"), ("ab", "load generator"), ("python", "Python")):
        add(f"| {label} | {m[k]} |")
    add(f"| load average (1, 5, 15 min) before / after | {' '.join(m['load_before'])} / "
        f"{' '.join(m.get('load_after', []))} |")
    add("")
    add("Other work on the machine (a load average above the core count) slows every side of a comparison, "
        "not always alike: compare the ratios of one run, and re-run on an idle machine for absolute figures.")
    add("")
    add("Re-run: `scripts/bench.sh` (all), `scripts/bench.sh --only refresh` (one section: " + ", ".join(SECTIONS)
        + "), `--connections N`, `--runs N`; `--quick` is the short sample scripts/test.sh runs.")
    add("")

    if doc.get("kept"):
        add("Kept from earlier runs of this document (not re-measured in this one): "
            + ", ".join(f"{k} ({v})" for k, v in doc["kept"].items()) + ".")
        add("")
    add("## Goals")
    add("")
    add("| goal | figure (medians) | met |")
    add("|---|---|---|")
    for goal, figure, met in goals(doc):
        add(f"| {goal} | {figure} | {'yes' if met else 'no' if met is False else 'not measured'} |")
    add("")

    r = doc.get("refresh")
    if r:
        n = r["connections"]
        add(f"## Refresh-all of {n:,} delegated connections")
        add("")
        if n != 1000:
            add(f"This run used {n:,} connections (`--connections {n}`), not the 1,000 the goals name: GNOME Keyring "
                "rewrites its whole file on every item change, so the keychain parts grow with the square of the "
                "count. The ratios are of this count.")
            add("")
        add(f"`mailconn refresh --all` (concurrency {CONCURRENCY}) against the same work done by the fastest "
            "client of each part alone. CPU in seconds: the client (the CLI, ab, or MSAL's Python), "
            "gnome-keyring-daemon, the provider (node). Keychain calls counted on the bus (dbus-monitor) while the "
            "CLI ran.")
        add("")
        add("| run | wall (s), each run | median (s) | client CPU | keyring CPU | provider CPU |")
        add("|---|---|---|---|---|---|")
        rows = [("`mailconn refresh --all`, keychain mode", r["keychain"])]
        if r.get("sealed"):
            rows.append(("`mailconn refresh --all`, sealed mode", r["sealed"]))
        rows.append((f"(a) load generator: the same {n:,} token requests (`ab -n {n} -c {CONCURRENCY} -k`)",
                     r["loadgen"]))
        if r.get("msal"):
            rows.append((f"(c) MSAL for Python {r['msal'][0]['msal']}, sequential, in-memory cache, the same refresh "
                         "tokens", r["msal"]))
        for label, runs in rows:
            cpu = lambda k: fmt(median([x.get(k, 0) for x in runs]))
            add(f"| {label} | {runs_cell(runs)} | {fmt(median(walls(runs)))} | {cpu('client_cpu_s')} | "
                f"{cpu('keyring_cpu_s')} | {cpu('provider_cpu_s')} |")
        raw = r["raw"]
        cpu = lambda k: fmt(median([x.get(k) or 0 for x in raw]))
        add(f"| (b) raw Secret Service client: {raw[0]['writes']:,} item writes over one session, "
            f"{r['raw_value_bytes']} bytes each, replacing as many items, in a keyring of its own (`ss-bench replace`; "
            f"the keyring CPU includes creating the items first) | {', '.join(fmt(x['wall_s']) for x in raw)} | "
            f"{fmt(median(walls(raw)))} | {cpu('client_cpu_s')} | {cpu('keyring_cpu_s')} | |")
        if r.get("sealed_missing"):
            add(f"| {r['sealed_missing']} | | | | | |")
        if r.get("msal_missing"):
            add(f"| (c) MSAL: {r['msal_missing']} | | | | | |")
        add("")
        add("Ratios (medians; the keychain comparison uses the refresh runs after the first, when every keychain item "
            "already exists and every write replaces one, as in the raw client's runs, so both sides write as many "
            "items into a keyring holding as many; with one run, that run):")
        add("")
        kc_all, kc = median(walls(r["keychain"])), median(walls(steady(r["keychain"])))
        rawm = median([x["ms"] / 1000 for x in r["raw"]])
        lg = median(walls(r["loadgen"]))
        sealed = median(walls(r.get("sealed")))
        ms = median(walls(r.get("msal")))
        add("| comparison | ratio |")
        add("|---|---|")
        add(f"| keychain mode / raw Secret Service client (same writes) | {fmt(ratio(kc, rawm))}x |")
        add(f"| keychain mode / load generator | {fmt(ratio(kc_all, lg))}x |")
        add(f"| MSAL sequential / keychain mode | {fmt(ratio(ms, kc_all))}x |")
        add(f"| sealed mode / load generator | {fmt(ratio(sealed, lg))}x |")
        add(f"| MSAL sequential / sealed mode | {fmt(ratio(ms, sealed))}x |")
        add("")
        add("Keychain calls per run (Secret Service methods on the bus):")
        add("")
        mem = SecretServiceCalls.MEMBERS
        add("| run | " + " | ".join(mem) + " | writes | refreshed | rotated |")
        add("|---|" + "---|" * (len(mem) + 3))
        for label, runs in (("keychain", r["keychain"]), ("sealed", r.get("sealed") or [])):
            for i, x in enumerate(runs):
                add(f"| {label} {i + 1} | " + " | ".join(fmt(x["keychain_calls"][k]) for k in mem)
                    + f" | {fmt(x['keychain_writes'])} | {fmt(x['refreshed'])} | {fmt(x['rotated'])} |")
        add("")
        if r.get("migrate_to_sealed"):
            mt = r["migrate_to_sealed"]
            add(f"Switching modes: `mailconn storage set sealed` migrated the tokens of {n:,} connections in {fmt(mt['wall_s'])} s "
                f"(CLI {fmt(mt['client_cpu_s'])} s CPU, keyring {fmt(mt['keyring_cpu_s'])} s; keychain calls "
                + ", ".join(f"{k} {v:,}" for k, v in mt["keychain_calls"].items() if v) + ").")
            add("")
        s = r["seed"]
        add(f"Seeding (not part of any figure above; {fmt(s['total_s'])} s in all): one real sign-in through the CLI "
            f"as the template ({fmt(s['template_sign_in_s'])} s), {n - 1:,} more grants of its shape minted by the "
            f"provider for generated users (`POST /_control/bench/refresh-tokens`, {fmt(s['mint_s'])} s), their rows "
            f"cloned from the template's with each identity in one SQLite transaction ({fmt(s['sqlite_s'])} s), and "
            f"their refresh tokens written to the keychain over one session (`ss-bench seed`, "
            f"{fmt(s['keychain_s'])} s). The token request the CLI sends (scope `{r['token_request_scope']}`) is "
            "taken from the provider's log and replayed by the load generator.")
        add("")

    mb = doc.get("mailboxes")
    if mb:
        n = mb["mailboxes"]
        add(f"## Application access: {n:,} organisation mailboxes")
        add("")
        add("| run | wall (s), each run | median (s) | client CPU | provider CPU | Graph stand-in CPU | Graph requests |")
        add("|---|---|---|---|---|---|---|")
        for label, runs in ((f"`mailconn mailbox add --from-file` ({n:,} addresses looked up and stored)", [mb["add"]]),
                            (f"checking the {n:,} mailboxes (`mailconn refresh --all`)", mb["check"]),
                            (f"load generator: the same Graph requests with a valid app token "
                             f"(`ab -c {CONCURRENCY} -k`: " + ", ".join(f"{c:,} x `{k}`" for k, c in
                                                                      mb["check_requests"].items()) + ")",
                             mb["loadgen"])):
            cpu = lambda k: fmt(median([x.get(k, 0) for x in runs]))
            reqs = runs[0].get("graph_requests", runs[0].get("requests"))
            add(f"| {label} | {runs_cell(runs)} | {fmt(median(walls(runs)))} | {cpu('client_cpu_s')} | "
                f"{cpu('provider_cpu_s')} | {cpu('graph_cpu_s')} | {fmt(reqs)} |")
        add("")
        add(f"Checking / load generator: {fmt(ratio(median(walls(mb['check'])), median(walls(mb['loadgen']))))}x "
            f"({fmt(mb['graph_requests_per_mailbox'])} Graph requests per mailbox; the load generator sends the same "
            "ones, kind by kind).")
        add("")

    w = doc.get("window")
    if w:
        add("## The window")
        add("")
        if w.get("missing"):
            add(f"Launch to interactive (0, 1,000, 10,000 connections, against a bare Tauri window), PSS idle, "
                f"CPU and wake-ups over 60 s idle, a sign-in's own work, list frame times: {w['missing']}.")
        else:
            add("From `tests/e2e/bench-app.mjs` (the app under Xvfb, WebKitWebDriver; every figure it printed; "
                "`*_runs` are the single runs):")
            add("")
            add("| figure | value |")
            add("|---|---|")
            f = w["figures"]
            for k, v in f.items():
                if isinstance(v, dict):
                    continue  # per-process breakdowns: in the raw JSON below
                add(f"| {k} | {', '.join(fmt(x) for x in v) if isinstance(v, list) else fmt(v)} |")
            bare = f.get("launch_to_interactive_ms_bare_window")
            if bare:
                add("")
                for c in (0, 1000, 10000):
                    v = f.get(f"launch_to_interactive_ms_{c}_connections")
                    if v is not None:
                        add(f"- launch to interactive with {c:,} connections / bare window: {fmt(ratio(v, bare))}x")
                pss, pbare = f.get("pss_idle_kib_1000_connections"), f.get("pss_idle_kib_bare_window")
                if pss and pbare:
                    add(f"- PSS idle with 1,000 connections / bare window: {fmt(ratio(pss, pbare))}x")
                pcpu = f.get("pss_idle_kib_bare_window_painting_like_the_app")
                if pss and pcpu:
                    add(f"- PSS idle with 1,000 connections / bare window painting as the app does without a GPU: {fmt(ratio(pss, pcpu))}x")
            phases = [(c, f.get(f"launch_phases_ms_{c}_connections")) for c in (0, 1000, 10000)]
            if any(p for _, p in phases):
                add("")
                add("Where a launch's time goes (medians, ms; from the page's performance marks):")
                add("")
                add("| connections | process start to page start | page start to script start | dashboard call "
                    "(asked to answered) | answer to interactive |")
                add("|---|---|---|---|---|")
                for c, p in phases:
                    if p:
                        add(f"| {c:,} | {fmt(p.get('process_start_to_page_start'))} | "
                            f"{fmt(p.get('page_start_to_script_started'))} | {fmt(p.get('dashboard_asked_to_answered'))}"
                            f" | {fmt(p.get('dashboard_answered_to_interactive'))} |")
                b = f.get("launch_process_start_to_page_start_ms_bare_window")
                if b is not None:
                    add(f"| bare window | {fmt(b)} | | | |")
            by_app = f.get("idle_wakeups_outside_scheduled_repaints_by_thread_100_connections")
            by_bare = f.get("idle_wakeups_by_thread_bare_window")
            if by_app or by_bare:
                add("")
                add("Idle wake-ups outside the scheduled repaints, by process/thread (the busiest; 100 "
                    "connections vs the bare window, the same idle length):")
                add("")
                add("| app thread | wake-ups | bare window thread | wake-ups |")
                add("|---|---|---|---|")
                a, b = by_app or [], by_bare or []
                for i in range(max(len(a), len(b))):
                    left = f"{a[i]['thread']} | {a[i]['wakeups']:,}" if i < len(a) else " | "
                    right = f"{b[i]['thread']} | {b[i]['wakeups']:,}" if i < len(b) else " | "
                    add(f"| {left} | {right} |")
        add("")

    sz = doc.get("sizes")
    if sz:
        add("## Sizes")
        add("")
        add("| file | bytes | MB |")
        add("|---|---|---|")
        for name, b in {**sz["binaries"], **sz.get("packages", {})}.items():
            add(f"| `{name}` | {b:,} | {b / 1e6:.1f} |")
        for name in sz.get("binaries_missing", []):
            add(f"| `{name}`: not built in this run | | |")
        if sz.get("packages_missing"):
            add(f"| packages: {sz['packages_missing']} | | |")
        add("")

    c = doc.get("cli")
    if c:
        add("## Single commands (the earlier figures)")
        add("")
        add("Each a whole CLI process, so process start, opening the database and the keychain are included.")
        add("")
        add("| measure | runs (ms) | median (ms) |")
        add("|---|---|---|")
        for row in c:
            add(f"| {row['measure']} | {', '.join(fmt(x, 1) for x in row['runs_ms'])} | "
                f"{fmt(median(row['runs_ms']), 1)} |")
        add("")

    add("## Raw")
    add("")
    add("Every figure of this run as the harness recorded it:")
    add("")
    add("```json")
    add(json.dumps({k: v for k, v in doc.items() if k != "args"}, indent=1, sort_keys=True))
    add("```")
    add("")
    return "\n".join(L)


def previous(path):
    """The raw figures of the document at `path` (its JSON block), or {}."""
    m = re.search(r"```json\n(.*?)\n```", path.read_text(), re.S)
    try:
        return json.loads(m.group(1)) if m else {}
    except ValueError:
        return {}


def main():
    global ARGS, CLI, APP, SS_BENCH
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=1000, help="delegated connections and mailboxes (1000)")
    p.add_argument("--runs", type=int, default=2, help="runs of each timed part (2)")
    p.add_argument("--quick", action="store_true", help="50 connections, 1 run, no window part, into artifacts")
    p.add_argument("--only", default="", help="comma-separated sections: " + ", ".join(SECTIONS))
    p.add_argument("--no-msal", action="store_true", help="skip MSAL for Python")
    p.add_argument("--out", help="where the Markdown goes (docs/benchmarks.md; --quick: $MAILCONN_ARTIFACTS)")
    p.add_argument("--profile", default="release", choices=["release", "debug"])
    ARGS = p.parse_args()
    if not os.environ.get("MAILCONN_KEYRING_SESSION"):
        sys.exit("run this through scripts/bench.sh (it needs a private keyring session: scripts/with-keyring.sh)")
    CLI, APP, SS_BENCH = (TARGET / ARGS.profile / b for b in ("mailconn", "mailconn-desktop", "ss-bench"))
    # Another build's binaries, e.g. to measure a branch before it is merged.
    CLI = Path(os.environ.get("MAILCONN_BENCH_CLI", CLI))
    APP = Path(os.environ.get("MAILCONN_BENCH_APP", APP))
    for b in (CLI, SS_BENCH):
        if not b.exists():
            sys.exit(f"{b} is missing: build first (scripts/bench.sh does)")
    n = 50 if ARGS.quick and ARGS.connections == 1000 else ARGS.connections
    runs = 1 if ARGS.quick and ARGS.runs == 2 else ARGS.runs
    only = [s for s in ARGS.only.split(",") if s]
    for s in only:
        if s not in SECTIONS:
            sys.exit(f"unknown section {s!r}: {', '.join(SECTIONS)}")
    wanted = only or [s for s in SECTIONS if not (ARGS.quick and s == "window")]
    if ARGS.out:
        out = Path(ARGS.out)
    elif ARGS.quick:
        out = Path(os.environ.get("MAILCONN_ARTIFACTS", ROOT / "artifacts")) / "benchmarks-quick.md"
    else:
        out = ROOT / "docs/benchmarks.md"

    started = time.perf_counter()
    doc = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "args": " ".join(sys.argv[1:]), "machine": machine(), "profile": ARGS.profile}
    if "refresh" in wanted:
        section_refresh(doc, n, runs)
    if "mailboxes" in wanted:
        section_mailboxes(doc, n, runs)
    if "window" in wanted:
        section_window(doc)
    if "sizes" in wanted:
        section_sizes(doc)
    if "cli" in wanted:
        section_cli(doc)
    doc["took_s"] = round(time.perf_counter() - started, 1)
    # With --only, the other sections of the document already there are kept (marked with their
    # own run's date), so one section can be re-measured without losing the rest.
    if only and out.exists():
        prev = previous(out)
        for sec in SECTIONS:
            if sec not in wanted and sec in prev:
                doc[sec] = prev[sec]
                doc.setdefault("kept", {})[sec] = prev.get("kept", {}).get(sec, prev.get("date"))
    doc["machine"]["load_after"] = Path("/proc/loadavg").read_text().split()[:3]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(doc))
    out.with_suffix(".json").write_text(json.dumps(doc, indent=1)) if ARGS.quick else None
    log(f"wrote {out} ({doc['took_s']} s)")


if __name__ == "__main__":
    main()
