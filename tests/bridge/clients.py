#!/usr/bin/env python3
"""Mail clients from Python's standard library (imaplib, poplib, smtplib) speaking only user
names and passwords to the Mail Connections bridge, for crates/cli/tests/bridge.rs.

Every command prints one JSON object on stdout and exits 0 when it ran (a refused login is a
result, not an error); the test reads the answers, the server's words and the time a login took.

  clients.py imap    --port P [--security plain|starttls|tls] --how login|literal|plain|plain-ir|sasl-login
                     --user U --password W [--select] [--fetch SUBJECT] [--twice]
  clients.py pop     --port P [--security ...] --how user|plain|sasl-login ... [--stat]
  clients.py smtp    --port P [--security ...] --how plain|login ... [--send TO] [--subject S]
                     [--size BYTES]
  clients.py before-tls --imap P --pop P --smtp P     (logins tried before STARTTLS)
  clients.py hold    --port P --user U --password W   (IMAP: logged in, waits for a line on
                     stdin, then says whether the session was closed)
  clients.py many    --port P --user U --password W --count N (N IMAP sessions at once)

Every command takes --host (default 127.0.0.1). TLS is checked against --cafile (the bridge's
certificate) for that address.
"""

import argparse
import base64
import email.utils
import hashlib
import imaplib
import json
import os
import poplib
import smtplib
import ssl
import sys
import threading
import time

def context(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    ctx.check_hostname = True
    return ctx


def text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return " ".join(text(v) for v in value if v is not None)
    return str(value)


def out(**result):
    print(json.dumps(result))
    sys.stdout.flush()


# ---- IMAP -----------------------------------------------------------------------------------


def imap_connect(args):
    if args.security == "tls":
        return imaplib.IMAP4_SSL(args.host, args.port, ssl_context=context(args), timeout=60)
    m = imaplib.IMAP4(args.host, args.port, timeout=60)
    if args.security == "starttls":
        m.starttls(ssl_context=context(args))
    return m


def imap_login(m, args, password=None):
    """Logs in the way --how says; returns (ok, the server's words)."""
    password = args.password if password is None else password
    how = args.how
    try:
        if how == "login":
            typ, data = m.login(args.user, password)
        elif how == "literal":
            # The password as a synchronizing literal: `a LOGIN user {n}`, `+`, the bytes.
            m.literal = password.encode()
            typ, data = m._simple_command("LOGIN", m._quote(args.user))
            if typ == "OK":
                m.state = "AUTH"
        elif how == "plain":
            # AUTHENTICATE PLAIN, the response after the server's `+`.
            raw = f"\0{args.user}\0{password}".encode()
            typ, data = m.authenticate("PLAIN", lambda _: raw)
        elif how == "plain-ir":
            # SASL-IR: the response on the command line itself.
            raw = base64.b64encode(f"\0{args.user}\0{password}".encode()).decode()
            typ, data = m._simple_command("AUTHENTICATE", "PLAIN", raw)
            if typ == "OK":
                m.state = "AUTH"
        elif how == "sasl-login":
            answers = iter([args.user.encode(), password.encode()])
            typ, data = m.authenticate("LOGIN", lambda _: next(answers))
        else:
            raise SystemExit(f"unknown --how {how}")
        return typ == "OK", text(data)
    except imaplib.IMAP4.error as e:
        return False, text(e.args[0]) if e.args else str(e)


def imap(args):
    m = imap_connect(args)
    caps = list(m.capabilities)
    started = time.monotonic()
    ok, said = imap_login(m, args)
    took = time.monotonic() - started
    result = {"ok": ok, "said": said, "seconds": took, "capabilities": caps}
    if not ok and args.twice:
        # A second wrong login in a new session (the delay grows per source address).
        m2 = imap_connect(args)
        started = time.monotonic()
        ok2, said2 = imap_login(m2, args)
        result["second"] = {"ok": ok2, "said": said2, "seconds": time.monotonic() - started}
        try:
            m2.logout()
        except Exception:
            pass
    if ok and args.select:
        typ, data = m.select("INBOX")
        result["select"] = typ
        result["exists"] = int(text(data)) if typ == "OK" else None
    if ok and args.fetch:
        m.select("INBOX")
        typ, data = m.search(None, "SUBJECT", f'"{args.fetch}"')
        nums = text(data).split()
        result["found"] = len(nums)
        if nums:
            typ, data = m.fetch(nums[-1], "(BODY.PEEK[TEXT])")
            body = data[0][1]
            result["bytes"] = len(body)
            result["sha256"] = hashlib.sha256(body.replace(b"\r\n", b"\n")).hexdigest()
    if ok:
        try:
            m.logout()
        except Exception:
            pass
    out(**result)


def hold(args):
    args.how = "login"
    m = imap_connect(args)
    ok, said = imap_login(m, args)
    typ, _ = m.select("INBOX") if ok else ("NO", None)
    out(ready=ok and typ == "OK", said=said)
    sys.stdin.readline()
    started = time.monotonic()
    closed, said = False, ""
    while time.monotonic() - started < 15:
        try:
            typ, data = m.noop()
            said = text(data)
        except (imaplib.IMAP4.abort, OSError, EOFError) as e:
            closed, said = True, str(e)
            break
        time.sleep(0.1)
    out(closed=closed, said=said, seconds=time.monotonic() - started)


def many(args):
    args.how = "login"
    barrier = threading.Barrier(args.count)
    results = [None] * args.count

    def one(i):
        try:
            m = imap_connect(args)
            barrier.wait(timeout=60)
            ok, said = imap_login(m, args)
            typ = m.select("INBOX")[0] if ok else "NO"
            results[i] = {"ok": ok and typ == "OK", "said": said}
            m.logout()
        except Exception as e:  # every failure is a result for the test to show
            results[i] = {"ok": False, "said": repr(e)}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(args.count)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out(results=results, seconds=time.monotonic() - started)


# ---- POP ------------------------------------------------------------------------------------


def pop(args):
    if args.security == "tls":
        p = poplib.POP3_SSL(args.host, args.port, context=context(args), timeout=60)
    else:
        p = poplib.POP3(args.host, args.port, timeout=60)
        if args.security == "starttls":
            p.stls(context=context(args))
    started = time.monotonic()
    try:
        if args.how == "user":
            p.user(args.user)
            said = p.pass_(args.password)
        elif args.how == "plain":
            raw = base64.b64encode(f"\0{args.user}\0{args.password}".encode()).decode()
            said = p._shortcmd(f"AUTH PLAIN {raw}")
        elif args.how == "sasl-login":
            p._putcmd("AUTH LOGIN")
            for answer in (args.user, args.password):
                line, _ = p._getline()
                if not line.startswith(b"+ "):
                    raise poplib.error_proto(line)
                p._putcmd(base64.b64encode(answer.encode()).decode())
            said = p._getresp()
        else:
            raise SystemExit(f"unknown --how {args.how}")
        ok = True
    except poplib.error_proto as e:
        ok, said = False, e.args[0]
    result = {"ok": ok, "said": text(said), "seconds": time.monotonic() - started}
    if ok and args.stat:
        result["stat"] = list(p.stat())
    if ok:
        p.quit()
    out(**result)


# ---- SMTP -----------------------------------------------------------------------------------


def message(args):
    """The message to send, and the SHA-256 of its body (LF line ends)."""
    if args.size:
        # Base64 lines of random bytes, as an attachment would be, about --size bytes.
        raw = os.urandom(args.size * 3 // 4)
        b64 = base64.encodebytes(raw)
        body = b64
    else:
        body = b"Hello through the bridge.\n"
    headers = (
        f"From: {args.user}\nTo: {args.send}\nSubject: {args.subject}\n"
        f"Date: {email.utils.formatdate()}\nMessage-ID: {email.utils.make_msgid()}\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
    ).encode()
    return headers + body, hashlib.sha256(body).hexdigest()


def smtp(args):
    if args.security == "tls":
        s = smtplib.SMTP_SSL(args.host, args.port, context=context(args), timeout=120)
    else:
        s = smtplib.SMTP(args.host, args.port, timeout=120)
        if args.security == "starttls":
            s.starttls(context=context(args))
    s.ehlo("bridge-test.local")
    s.user, s.password = args.user, args.password
    started = time.monotonic()
    try:
        if args.how == "plain":
            code, said = s.auth("PLAIN", s.auth_plain)
        elif args.how == "login":
            code, said = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        else:
            raise SystemExit(f"unknown --how {args.how}")
        ok = True
    except smtplib.SMTPResponseException as e:
        ok, code, said = False, e.smtp_code, e.smtp_error
    result = {"ok": ok, "code": code, "said": text(said), "seconds": time.monotonic() - started}
    if ok and args.send:
        raw, digest = message(args)
        started = time.monotonic()
        try:
            refused = s.sendmail(args.user, [args.send], raw.replace(b"\n", b"\r\n"))
            result.update(sent=not refused, sha256=digest)
        except smtplib.SMTPException as e:
            result.update(sent=False, error=repr(e))
            out(**result)
            return
        result["send_seconds"] = time.monotonic() - started
    try:
        s.quit()
    except smtplib.SMTPException:
        pass
    out(**result)


# ---- before STARTTLS --------------------------------------------------------------------------


def before_tls(args):
    """Logins tried on the STARTTLS listeners before STARTTLS: the words of each refusal."""
    result = {}
    m = imaplib.IMAP4(args.host, args.imap, timeout=30)
    result["imap_capabilities"] = list(m.capabilities)
    typ, data = m._simple_command("LOGIN", args.user, m._quote(args.password))
    result["imap_login"] = f"{typ} {text(data)}"
    try:
        m.logout()
    except Exception:
        pass
    p = poplib.POP3(args.host, args.pop, timeout=30)
    try:
        result["pop_user"] = text(p.user(args.user))
    except poplib.error_proto as e:
        result["pop_user"] = text(e.args[0])
    result["pop_capa"] = list(p.capa().keys())
    p.quit()
    s = smtplib.SMTP(args.host, args.smtp, timeout=30)
    s.ehlo("bridge-test.local")
    result["smtp_features"] = sorted(s.esmtp_features.keys())
    raw = base64.b64encode(f"\0{args.user}\0{args.password}".encode()).decode()
    code, said = s.docmd("AUTH", f"PLAIN {raw}")
    result["smtp_auth"] = f"{code} {text(said)}"
    s.quit()
    out(**result)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("imap", "pop", "smtp", "hold", "many"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--security", default="plain", choices=["plain", "starttls", "tls"])
        p.add_argument("--how", default="login")
        p.add_argument("--user", required=True)
        p.add_argument("--password", required=True)
        p.add_argument("--cafile")
        p.add_argument("--select", action="store_true")
        p.add_argument("--twice", action="store_true")
        p.add_argument("--fetch")
        p.add_argument("--stat", action="store_true")
        p.add_argument("--send")
        p.add_argument("--subject", default="Through the bridge")
        p.add_argument("--size", type=int, default=0)
        p.add_argument("--count", type=int, default=20)
        p.add_argument("--host", default="127.0.0.1")
    p = sub.add_parser("before-tls")
    p.add_argument("--host", default="127.0.0.1")
    for port in ("--imap", "--pop", "--smtp"):
        p.add_argument(port, type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    args = ap.parse_args()
    {
        "imap": imap,
        "pop": pop,
        "smtp": smtp,
        "hold": hold,
        "many": many,
        "before-tls": before_tls,
    }[args.command](args)


if __name__ == "__main__":
    main()
