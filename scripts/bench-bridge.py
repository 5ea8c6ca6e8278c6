#!/usr/bin/env python3
"""The mail bridge side by side with direct XOAUTH2 and with email-oauth2-proxy, in one run on the
same Dovecot (TLS upstream) and the same local identity provider.

    scripts/with-keyring.sh python3 scripts/bench-bridge.py            # debug build, TLS upstream
    scripts/with-keyring.sh python3 scripts/bench-bridge.py --release  # release build (see below)
    scripts/with-keyring.sh python3 scripts/bench-bridge.py --quick    # a short sample (scripts/test.sh)

Measures IMAP login + SELECT + LOGOUT latency (median), IMAP FETCH and SMTP DATA throughput of a
20 MB and a 50 MB message (MB/s), and the memory (resident and proportional set size) of the
`mailconn bridge` process and of email-oauth2-proxy, idle and per idle logged-in session. The
figures, the machine and the ratios against issue 15's goals go into docs/bridge-benchmark.md
(one section per build; `--quick` only prints). Nothing is asserted about times: it reports.

A debug build trusts Dovecot's local CA through MAILCONN_TEST_CA_FILE; a release build never
reads that variable, so `--release` gives the bridge Dovecot's plain loopback ports
(`plain://`, allowed for loopback servers of a custom cloud) and compares it with direct XOAUTH2
over the same plain ports (direct over TLS and email-oauth2-proxy, which always speaks TLS
upstream, are measured too).

email-oauth2-proxy (PyPI `emailproxy`) is installed into ~/.cache/mailconn/emailproxy-venv and
configured like the bridge: the same Dovecot ports, the same identity provider's endpoints and
the same confidential client; its one browser sign-in is played headlessly through its
`--local-server-auth` mode.
"""
import argparse
import base64
import datetime
import http.cookiejar
import imaplib
import json
import os
import platform
import random
import re
import shutil
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/mailconn/target"))
FIX = json.loads((ROOT / "tests/idp/fixtures.json").read_text())
VENV = Path.home() / ".cache/mailconn/emailproxy-venv"
EMAILPROXY = "emailproxy==2026.7.3"
USER = "alice@contoso.test"
PROXY_PASSWORD = "local-password-for-emailproxy"
DOC = ROOT / "docs/bridge-benchmark.md"
MB = 1_000_000


# ---------------------------------------------------------------------------------------------
# Processes: identity provider, Dovecot, the bridge, email-oauth2-proxy


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def start_idp():
    proc = subprocess.Popen(["node", str(ROOT / "tests/idp/server.mjs"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, json.loads(proc.stdout.readline())["base"]


def start_mail_servers(base):
    exe = TARGET / "debug/mail-servers"
    if not exe.exists():
        sys.exit(f"{exe} is missing: cargo build -p mailconn-testkit --bin mail-servers")
    proc = subprocess.Popen([str(exe), base], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    return proc, json.loads(proc.stdout.readline())["dovecot"]


def ensure_emailproxy():
    exe = VENV / "bin/emailproxy"
    pip = VENV / "bin/pip"
    wanted = EMAILPROXY.split("==")[1]
    have = ""
    if exe.exists():
        out = subprocess.run([str(pip), "show", "emailproxy"], capture_output=True, text=True).stdout
        have = next((l.split()[1] for l in out.splitlines() if l.startswith("Version:")), "")
    if have != wanted:
        if not (VENV / "bin/python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(pip), "install", "-q", EMAILPROXY], check=True)
    return exe, wanted


class Cli:
    def __init__(self, exe, data, env):
        self.exe, self.data, self.env = exe, data, env

    def run(self, *args, stdin=None):
        r = subprocess.run([str(self.exe), "--data-dir", self.data, *args], input=stdin,
                           capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            raise RuntimeError(f"mailconn {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
        return r.stdout


def browser():
    """A headless browser leg: redirects followed, cookies kept."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def sign_in(cli, app):
    proc = subprocess.Popen([str(cli.exe), "--data-dir", cli.data, "--json", "connect", "--no-browser",
                             "--app", app, "--login-hint", USER], stdout=subprocess.PIPE, text=True,
                            env=cli.env)
    url = proc.stdout.readline().removeprefix("open: ").strip()
    browser().open(url, timeout=30).read()
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError(f"connect failed: {out}")


def start_bridge(cli, ports):
    args = [str(cli.exe), "--data-dir", cli.data, "bridge", "--imap-port", str(ports["imap"]),
            "--imaps-port", str(ports["imaps"]), "--pop-port", "0", "--pops-port", "0",
            "--smtp-port", str(ports["smtp"]), "--smtps-port", "0"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=cli.env)
    for line in proc.stdout:
        if line.strip() == "ready":
            break
    else:
        raise RuntimeError("the bridge did not start")
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc


def start_emailproxy(exe, base, dovecot, ca_file, work):
    """email-oauth2-proxy with the bridge's upstreams: IMAP with TLS from the start, submission
    with STARTTLS, the same provider's authorize and token endpoints and the same client."""
    ports = {"imap": free_port(), "smtp": free_port()}
    redirect = free_port()
    tenant = f"{base}/{FIX['tenants']['contoso']['domain']}/oauth2/v2.0"
    config = work / "emailproxy.config"
    config.write_text(f"""[IMAP-{ports['imap']}]
server_address = localhost
server_port = {dovecot['imaps']}
local_address = 127.0.0.1

[SMTP-{ports['smtp']}]
server_address = localhost
server_port = {dovecot['submission']}
server_starttls = True
local_address = 127.0.0.1

[{USER}]
permission_url = {tenant}/authorize
token_url = {tenant}/token
oauth2_scope = https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access
redirect_uri = http://localhost:{redirect}/
client_id = {FIX['clients']['web']['client_id']}
client_secret = {FIX['clients']['web']['secrets'][0]['value']}
""")
    log = work / "emailproxy.log"
    # Python's ssl trusts Dovecot's CA through SSL_CERT_FILE (OpenSSL's default verify paths).
    env = {**os.environ, "SSL_CERT_FILE": str(ca_file)}
    proc = subprocess.Popen([str(exe), "--no-gui", "--local-server-auth", "--config-file", str(config),
                             "--log-file", str(log)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    wait_port(ports["imap"], "email-oauth2-proxy")
    wait_port(ports["smtp"], "email-oauth2-proxy")

    # Its first login waits for the account's authorisation: play the browser for the URL it logs.
    def authorise():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = log.read_text() if log.exists() else ""
            m = re.search(r"Please visit the following URL to authenticate account \S+: (\S+)", text)
            if m:
                time.sleep(0.5)  # its redirect receiver starts right after it logs the URL
                browser().open(m.group(1), timeout=30).read()
                return
            time.sleep(0.1)

    helper = threading.Thread(target=authorise, daemon=True)
    helper.start()
    c = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=90)
    c.login(USER, PROXY_PASSWORD)
    c.logout()
    helper.join()
    return proc, ports, log


def memory_kib(pid):
    """Resident set size, proportional set size and its anonymous part (heap and stacks: what
    the process made, without the pages of its program and libraries) of one process, KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1])
    return fields.get("Rss", 0), fields.get("Pss", 0), fields.get("Pss_Anon", 0)


# ---------------------------------------------------------------------------------------------
# The three ways in


def xoauth2(token):
    return f"user={USER}\x01auth=Bearer {token}\x01\x01"


class Way:
    """One way into the same mailbox: how to open a logged-in IMAP and SMTP session."""

    def __init__(self, name, imap, smtp, reference=False):
        self.name, self._imap, self._smtp, self.reference = name, imap, smtp, reference

    def imap(self):
        return self._imap()

    def smtp(self):
        return self._smtp()


def imap_password(port, password, tls=None):
    def open_():
        if tls:
            c = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls, timeout=60)
        else:
            c = imaplib.IMAP4("127.0.0.1", port, timeout=60)
        c.login(USER, password)
        return c
    return open_


def imap_xoauth2(port, token, tls=None):
    def open_():
        if tls:
            c = imaplib.IMAP4_SSL("localhost", port, ssl_context=tls, timeout=60)
        else:
            c = imaplib.IMAP4("127.0.0.1", port, timeout=60)
        c.authenticate("XOAUTH2", lambda _: xoauth2(token).encode())
        return c
    return open_


def smtp_password(port, password):
    def open_():
        s = smtplib.SMTP("127.0.0.1", port, timeout=120)
        s.ehlo("bench.local")
        s.login(USER, password)
        return s
    return open_


def smtp_xoauth2(port, token, tls=None):
    def open_():
        s = smtplib.SMTP("localhost" if tls else "127.0.0.1", port, timeout=120)
        s.ehlo("bench.local")
        if tls:
            s.starttls(context=tls)
            s.ehlo("bench.local")
        code, text = s.docmd("AUTH", "XOAUTH2 " + base64.b64encode(xoauth2(token).encode()).decode())
        if code != 235:
            raise RuntimeError(f"XOAUTH2 refused: {code} {text}")
        return s
    return open_


# ---------------------------------------------------------------------------------------------
# Measures


def message(size, seed):
    """A message of about `size` bytes: headers and base64 lines (what an attachment looks like),
    CRLF line ends, nothing that needs dot-stuffing."""
    head = (f"From: {USER}\r\nTo: bob@contoso.test\r\nSubject: bench {size // MB} MB\r\n"
            f"Message-ID: <bench-{seed}-{size}@contoso.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode()
    lines = (size - len(head)) // 78
    raw = base64.b64encode(random.Random(seed).randbytes(lines * 57))
    body = b"".join(raw[i:i + 76] + b"\r\n" for i in range(0, len(raw), 76))
    return head + body


def latency(way):
    """IMAP connect, login, SELECT INBOX, LOGOUT: seconds."""
    t = time.perf_counter()
    c = way.imap()
    c.select("INBOX")
    c.logout()
    return time.perf_counter() - t


def fetch_rate(way, seq, size):
    """MB/s of `FETCH seq BODY.PEEK[]` in a logged-in session."""
    c = way.imap()
    c.select("INBOX", readonly=True)
    t = time.perf_counter()
    typ, data = c.fetch(str(seq), "(BODY.PEEK[])")
    took = time.perf_counter() - t
    got = len(data[0][1])
    c.logout()
    if typ != "OK" or got != size:
        raise RuntimeError(f"{way.name}: FETCH gave {typ} {got} bytes, expected {size}")
    return size / MB / took


def data_rate(way, msg):
    """MB/s of SMTP DATA: from the first byte after 354 to the server's 250 (submission relays to
    the sink before it answers)."""
    s = way.smtp()
    s.mail(USER)
    s.rcpt("bob@contoso.test")
    s.putcmd("data")
    code, text = s.getreply()
    if code != 354:
        raise RuntimeError(f"{way.name}: DATA answered {code} {text}")
    t = time.perf_counter()
    s.sock.sendall(msg + b".\r\n")
    code, text = s.getreply()
    took = time.perf_counter() - t
    if code != 250:
        raise RuntimeError(f"{way.name}: end of DATA answered {code} {text}")
    s.quit()
    return len(msg) / MB / took


def rounds(ways, runs, measure):
    """`runs` samples per way, taken round by round (each way once per round) so that a change in
    the machine's load falls on every way alike; the median per way."""
    samples = {w.name: [] for w in ways}
    for _ in range(runs):
        for w in ways:
            samples[w.name].append(measure(w))
    return {name: med(v) for name, v in samples.items()}


def idle_sessions(way, pid, count):
    """Memory of `pid` with `count` more logged-in IMAP sessions sitting idle after SELECT."""
    sessions = []
    for _ in range(count):
        c = way.imap()
        c.select("INBOX")
        sessions.append(c)
    time.sleep(2)
    with_them = memory_kib(pid)
    for c in sessions:
        c.logout()
    return with_them


# ---------------------------------------------------------------------------------------------
# The report


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor() or "?")
    mem = next((int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines()
                if l.startswith("MemTotal:")), 0)
    distro = next((l.split("=", 1)[1].strip('"') for l in Path("/etc/os-release").read_text().splitlines()
                   if l.startswith("PRETTY_NAME=")), "?")
    dovecot = subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": f"{mem / 1024 / 1024:.0f} GiB",
            "kernel": platform.release(), "system": distro, "dovecot": dovecot.split()[0] if dovecot else "?",
            "python": platform.python_version(), "commit": commit}


def med(samples):
    return statistics.median(samples)


def ratio(a, b):
    """a / b; not a number where b is not positive (a per-session difference lost in the noise of
    a few sessions)."""
    return a / b if b > 0 else float("nan")


def report(r):
    """The Markdown section of one run."""
    m, ways = r["machine"], r["ways"]
    ref = next(w for w in ways if r["results"][w]["reference"])
    lines = [
        f"Run {r['date']} UTC: {r['profile']} build of `mailconn` ({r['binary']}), upstream "
        f"{r['upstream']}; {m['cpu']}, {m['cores']} cores, {m['memory']}, kernel {m['kernel']}, "
        f"{m['system']}; Dovecot {m['dovecot']}, email-oauth2-proxy {r['emailproxy']} on Python "
        f"{m['python']}; load average {r['load']} at the start. Medians of {r['runs']} logins and "
        f"{r['rate_runs']} transfers; {r['sessions']} idle sessions.",
        "",
        "| way in | login + SELECT + LOGOUT (ms) | " +
        " | ".join(f"FETCH {s} MB (MB/s)" for s in r["sizes"]) + " | " +
        " | ".join(f"DATA {s} MB (MB/s)" for s in r["sizes"]) + " |",
        "|---|---|" + "---|" * (2 * len(r["sizes"])),
    ]
    for w in ways:
        x = r["results"][w]
        cells = [f"{x['login_ms']:.1f}"]
        cells += [f"{x['fetch'][str(s)]:.1f}" if str(s) in x["fetch"] else "" for s in r["sizes"]]
        cells += [f"{x['data'][str(s)]:.1f}" if str(s) in x["data"] else "" for s in r["sizes"]]
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    lines += ["", "| process | idle RSS (MiB) | idle PSS (MiB) | of which anonymous (MiB) | "
              "per idle session, RSS (KiB) | per idle session, PSS (KiB) | RSS after the transfers (MiB) |",
              "|---|---|---|---|---|---|---|"]
    for p, x in r["memory"].items():
        lines.append(f"| {p} | {x['idle'][0] / 1024:.1f} | {x['idle'][1] / 1024:.1f} | {x['idle'][2] / 1024:.1f} | "
                     f"{x['per_session'][0]:.0f} | {x['per_session'][1]:.0f} | {x['after'][0] / 1024:.1f} |")
    b, d, e = r["results"]["bridge"], r["results"][ref], r["results"]["email-oauth2-proxy"]
    mb, me = r["memory"]["bridge"], r["memory"]["email-oauth2-proxy"]

    def verdict(ok, q=0.0):
        if q != q:  # not a number
            return "not measurable (too few sessions)"
        return "met" if ok else "**missed**"

    goal_login = ratio(b["login_ms"], d["login_ms"])
    lines += ["", f"Against the goals (reference: {ref}):", "",
              "| goal | figure | ratio | |", "|---|---|---|---|",
              f"| login within 1.5x direct | {b['login_ms']:.1f} vs {d['login_ms']:.1f} ms "
              f"(email-oauth2-proxy {e['login_ms']:.1f}, {ratio(e['login_ms'], d['login_ms']):.1f}x) | "
              f"{goal_login:.2f}x | {verdict(goal_login <= 1.5)} |"]
    for kind in ("fetch", "data"):
        for s in r["sizes"]:
            k = str(s)
            if k not in b[kind] or k not in d[kind]:
                continue
            q = ratio(b[kind][k], d[kind][k])
            lines.append(f"| {'FETCH' if kind == 'fetch' else 'DATA'} {s} MB within 10% of direct | "
                         f"{b[kind][k]:.1f} vs {d[kind][k]:.1f} MB/s (email-oauth2-proxy {e[kind][k]:.1f}) | "
                         f"{q:.2f} | {verdict(q >= 0.9, q)} |")
    for i, what in ((0, "RSS"), (1, "PSS"), (2, "anonymous PSS")):
        q = ratio(mb["idle"][i], me["idle"][i])
        lines.append(f"| memory at most 1/4 of email-oauth2-proxy's, {what} | {mb['idle'][i] / 1024:.1f} vs "
                     f"{me['idle'][i] / 1024:.1f} MiB | {q:.2f} | {verdict(q <= 0.25, q)} |")
        q = ratio(mb["per_session"][i], me["per_session"][i])
        lines.append(f"| per idle session at most 1/4, {what} | {mb['per_session'][i]:.0f} vs "
                     f"{me['per_session'][i]:.0f} KiB | {q:.2f} | {verdict(q <= 0.25, q)} |")
    return "\n".join(lines) + "\n"


def write_doc(section_id, title, body):
    start, end = f"<!-- bench-bridge:{section_id}:start -->", f"<!-- bench-bridge:{section_id}:end -->"
    text = DOC.read_text() if DOC.exists() else "# Bridge benchmark\n"
    block = f"{start}\n## {title}\n\n{body}{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text)


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--release", action="store_true", help="the release build (plain loopback upstream)")
    ap.add_argument("--quick", action="store_true", help="a short sample: 3 logins, a 2 MB message, prints only")
    ap.add_argument("--runs", type=int, help="logins per way [default 15; quick 3]")
    ap.add_argument("--sessions", type=int, help="idle sessions [default 50; quick 5]")
    ap.add_argument("--no-doc", action="store_true", help="print the figures, do not write the doc")
    ap.add_argument("--upstream", choices=["tls", "plain"],
                    help="how the bridge reaches Dovecot [default: tls for debug, plain for --release]; tls with "
                         "--release needs a build that reads MAILCONN_TEST_CA_FILE (see docs/bridge-benchmark.md)")
    ap.add_argument("--cli", help="the mailconn binary [default: the build's, under CARGO_TARGET_DIR]")
    ap.add_argument("--tag", help="a word for this run's own section of the doc, e.g. before (a build before a change)")
    args = ap.parse_args()
    profile = "release" if args.release else "debug"
    tls_upstream = (args.upstream or ("plain" if args.release else "tls")) == "tls"
    runs = args.runs or (3 if args.quick else 15)
    rate_runs = 1 if args.quick else 5
    count = args.sessions or (5 if args.quick else 50)
    sizes = [2] if args.quick else [20, 50]
    exe = Path(args.cli) if args.cli else TARGET / profile / "mailconn"
    if not exe.exists():
        sys.exit(f"{exe} is missing: cargo build {'--release ' if args.release else ''}-p mailconn-cli")
    proxy_exe, proxy_version = ensure_emailproxy()
    load = os.getloadavg()[0]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")

    work = Path(tempfile.mkdtemp(prefix="mailconn-bench-bridge-"))
    procs = []
    try:
        idp, base = start_idp()
        procs.append(idp)
        servers, dovecot = start_mail_servers(base)
        procs.append(servers)
        ca = ssl.create_default_context(cafile=dovecot["ca_file"])
        env = {**os.environ, "MAILCONN_TEST_CA_FILE": dovecot["ca_file"], "MAILCONN_LOG": "warn"}
        env.pop("MAILCONN_KEYCHAIN", None)
        cli = Cli(exe, str(work / "data"), env)
        if not tls_upstream:
            servers_args = [f"plain://127.0.0.1:{dovecot['imap']}", f"plain://127.0.0.1:{dovecot['pop']}",
                            f"plain://127.0.0.1:{dovecot['submission']}"]
            upstream = "Dovecot's plain loopback ports for the bridge (`plain://`, see \"The release build and TLS\")"
        else:
            servers_args = [f"tls://localhost:{dovecot['imaps']}", f"tls://localhost:{dovecot['pops']}",
                            f"starttls://localhost:{dovecot['submission']}"]
            upstream = "TLS (IMAP with TLS from the start, submission with STARTTLS)"
        cli.run("app", "add", "--name", "bench", "--client-id", FIX["clients"]["web"]["client_id"],
                "--tenant", FIX["tenants"]["contoso"]["domain"], "--authority-url", base,
                "--graph-url", "http://127.0.0.1:9", "--preset", "mail-programs",
                "--imap-server", servers_args[0], "--pop-server", servers_args[1], "--smtp-server", servers_args[2],
                "--secret-stdin", "--secret-expires", "2099-01-01",
                stdin=FIX["clients"]["web"]["secrets"][0]["value"])
        sign_in(cli, "bench")
        # Two programs: the bridge allows 25 sessions per program by default.
        passwords = [cli.run("bridge", "password", "add", USER, "--program", f"bench {i}").strip().splitlines()[-1]
                     for i in range(2)]
        imap_token = cli.run("token", USER, "--resource", "imap").strip()
        smtp_token = cli.run("token", USER, "--resource", "smtp").strip()

        ports = {"imap": free_port(), "imaps": free_port(), "smtp": free_port()}
        bridge = start_bridge(cli, ports)
        procs.append(bridge)
        cert = work / "bridge.pem"
        cert.write_text(cli.run("bridge", "certificate"))
        local_tls = ssl.create_default_context(cafile=str(cert))
        local_tls.check_hostname = False  # the bridge's certificate names this computer; trust is the pin

        proxy, proxy_ports, _ = start_emailproxy(proxy_exe, base, dovecot, dovecot["ca_file"], work)
        procs.append(proxy)

        direct_tls = Way("direct XOAUTH2 over TLS", imap_xoauth2(dovecot["imaps"], imap_token, ca),
                         smtp_xoauth2(dovecot["submission"], smtp_token, ca), reference=tls_upstream)
        ways = [
            Way("bridge", imap_password(ports["imap"], passwords[0]), smtp_password(ports["smtp"], passwords[0])),
            Way("bridge, TLS on the local leg too", imap_password(ports["imaps"], passwords[0], local_tls),
                smtp_password(ports["smtp"], passwords[0])),
        ]
        if not tls_upstream:
            ways.append(Way("direct XOAUTH2, plain loopback", imap_xoauth2(dovecot["imap"], imap_token),
                            smtp_xoauth2(dovecot["submission"], smtp_token), reference=True))
        ways += [direct_tls, Way("email-oauth2-proxy", imap_password(proxy_ports["imap"], PROXY_PASSWORD),
                                 smtp_password(proxy_ports["smtp"], PROXY_PASSWORD))]
        by_name = {w.name: w for w in ways}

        # The messages: appended once over the direct way, fetched by sequence number.
        msgs = {s: message(s * MB, s) for s in sizes}
        c = direct_tls.imap()
        c.select("INBOX")
        before = int(c.select("INBOX")[1][0])
        for s in sizes:
            c.append("INBOX", None, None, msgs[s])
        c.logout()
        seq = {s: before + 1 + i for i, s in enumerate(sizes)}

        # Memory first, before any large transfer: idle after one login, then `count` sessions.
        for w in ways:
            latency(w)
        time.sleep(1)
        memory = {}
        for name, pid, way_name in (("bridge", bridge.pid, "bridge"),
                                    ("email-oauth2-proxy", proxy.pid, "email-oauth2-proxy")):
            idle = memory_kib(pid)
            # The bridge's sessions are spread over both programs (25 each at most).
            if name == "bridge":
                half = count // 2
                first = idle_sessions_split(by_name["bridge"], ports, passwords, pid, half, count - half)
                busy = first
            else:
                busy = idle_sessions(by_name[way_name], pid, count)
            memory[name] = {"idle": idle, "per_session": tuple((busy[i] - idle[i]) / count for i in range(3))}
            time.sleep(1)

        results = {w.name: {"reference": w.reference, "fetch": {}, "data": {}} for w in ways}
        for name, v in rounds(ways, runs, latency).items():
            results[name]["login_ms"] = v * 1000
            print(f"{name}: login {v * 1000:.1f} ms", flush=True)
        # The local-TLS variant only for the first size's FETCH (SMTP is the same relay).
        plain = [w for w in ways if not w.name.startswith("bridge, TLS")]
        for s in sizes:
            fetchers = ways if s == sizes[0] else plain
            for name, v in rounds(fetchers, rate_runs, lambda w, s=s: fetch_rate(w, seq[s], len(msgs[s]))).items():
                results[name]["fetch"][str(s)] = v
                print(f"{name}: FETCH {s} MB {v:.1f} MB/s", flush=True)
            for name, v in rounds(plain, rate_runs, lambda w, s=s: data_rate(w, msgs[s])).items():
                results[name]["data"][str(s)] = v
                print(f"{name}: DATA {s} MB {v:.1f} MB/s", flush=True)
        memory["bridge"]["after"] = memory_kib(bridge.pid)
        memory["email-oauth2-proxy"]["after"] = memory_kib(proxy.pid)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                if p.stdin:
                    p.stdin.close()  # mail-servers stops when its standard input closes
                else:
                    p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)

    binary = f"built from {machine()['commit']}" if not args.cli else f"the binary {args.cli}"
    run = {"date": date, "profile": profile, "binary": binary, "upstream": upstream, "machine": machine(),
           "emailproxy": proxy_version, "load": f"{load:.2f}", "runs": runs, "rate_runs": rate_runs,
           "sessions": count, "sizes": sizes, "ways": [w.name for w in ways], "results": results,
           "memory": memory}
    text = report(run)
    print(text)
    if not args.quick and not args.no_doc:
        title = f"{profile.capitalize()} build, " + ("TLS upstream" if tls_upstream
                                                      else "plain loopback upstream for the bridge")
        if args.tag:
            title += f" ({args.tag})"
        section = f"{profile}-{'tls' if tls_upstream else 'plain'}"
        write_doc(f"{section}-{re.sub(r'[^a-z0-9]+', '-', args.tag.lower())}" if args.tag else section, title, text)
        print(f"written to {DOC.relative_to(ROOT)}")


def idle_sessions_split(way, ports, passwords, pid, first, second):
    """The bridge's idle sessions, `first` under one program's password and `second` under the
    other's (each program may have 25 at once)."""
    sessions = []
    for password, n in ((passwords[0], first), (passwords[1], second)):
        for _ in range(n):
            c = imap_password(ports["imap"], password)()
            c.select("INBOX")
            sessions.append(c)
    time.sleep(2)
    with_them = memory_kib(pid)
    for c in sessions:
        c.logout()
    return with_them


if __name__ == "__main__":
    main()
