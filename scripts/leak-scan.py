#!/usr/bin/env python3
"""Secret-leak scan: searches what the tests left behind for every secret and token they used.

Searched: every file under the artifacts directories given (default $MAILCONN_ARTIFACTS or
./artifacts): the SQLite files (with -wal/-shm), every log file, the recorded IPC answers
(*.ipc.jsonl) and the DOM text saved next to each screenshot (*.dom.txt); images are skipped.
Searched for: every client secret in tests/idp/fixtures.json and every token, code and secret the
test identity provider issued (idp-tokens.log, written by tests/idp/token-log.mjs), raw and
URL-encoded, and the last 24 characters of long values (a token cut short is still a leak).
Also the mail bridge's local passwords the tests made (bridge-passwords.log, one a line): all but
their first 8 characters (the public id), in the databases and logs; the screen text and the IPC
answers are not searched for them, since a new password is shown there once on purpose.

Exit status: 0 when nothing is found, 1 on any hit (each is listed, masked), 2 on a usage error.
`--self-test` plants secrets in a scratch directory and checks that each one is found.
"""
import argparse
import json
import os
import sys
import tempfile
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN_LOG = "idp-tokens.log"
BRIDGE_LOG = "bridge-passwords.log"
BRIDGE_KEY_LEN = 8
SHOWN_ONCE_SUFFIXES = (".dom.txt", ".ipc.jsonl")
SKIP_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webm", ".mp4")
MIN_LEN = 8
TAIL = 24


def fixture_secrets(path):
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for client in data.get("clients", {}).values():
        for secret in client.get("secrets", []) or []:
            if isinstance(secret, dict) and secret.get("value"):
                out.append(secret["value"])
    return out


def logged_tokens(path):
    try:
        return [l.strip() for l in Path(path).read_text(encoding="utf-8").splitlines() if l.strip()]
    except FileNotFoundError:
        return []


def needles(secrets):
    """Byte patterns to look for, each mapped to the secret it came from."""
    found = {}
    for s in set(secrets):
        if len(s) < MIN_LEN:
            continue
        variants = {s, urllib.parse.quote(s, safe=""), urllib.parse.quote_plus(s)}
        if len(s) >= 40:
            variants.add(s[-TAIL:])
        for v in variants:
            found[v.encode("utf-8")] = s
    return found


def mask(secret):
    return f"{secret[:4]}... ({len(secret)} chars)"


def bridge_secrets(path):
    """The secret part of each bridge password in a bridge-passwords.log."""
    return [p[BRIDGE_KEY_LEN:] for p in logged_tokens(path) if len(p) > BRIDGE_KEY_LEN]


def scan(dirs, secrets, exclude=(), shown_once=()):
    """Returns (hits, files_scanned, bytes_scanned); a hit is (file, offset, secret).
    `shown_once` secrets are not looked for in screen text and IPC answers."""
    pats = needles(secrets)
    once = needles(shown_once)
    hits, files, total = [], 0, 0
    excluded = {Path(e).resolve() for e in exclude}
    for d in dirs:
        for path in sorted(Path(d).rglob("*")):
            if not path.is_file() or path.name in (TOKEN_LOG, BRIDGE_LOG) or path.resolve() in excluded:
                continue
            if path.name.lower().endswith(SKIP_SUFFIXES):
                continue
            data = path.read_bytes()
            files += 1
            total += len(data)
            shown = path.name.lower().endswith(SHOWN_ONCE_SUFFIXES)
            for pat, secret in list(pats.items()) + ([] if shown else list(once.items())):
                at = data.find(pat)
                if at >= 0:
                    hits.append((str(path), at, secret))
    return hits, files, total


def self_test():
    secret = "Kx77Q~planted.client-secret_for.the.self-test"
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.c2lnbmF0dXJlLW9mLWEtcGxhbnRlZC10b2tlbi0xMjM0NTY3OA"
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "clean").mkdir()
        (t / "clean" / "app.log").write_text("refreshed connection c1; token [redacted]\n")
        (t / "clean" / "shot.dom.txt").write_text("Connections\nalice@contoso.test Active\n")
        hits, files, _ = scan([t / "clean"], [secret, token])
        assert not hits and files == 2, (hits, files)

        cases = {
            "db/mailconn.sqlite3": b"SQLite format 3\x00" + b"\x00" * 100 + secret.encode() + b"\x00" * 50,
            "logs/mailconn.log.2026-01-01": f"request body client_secret={urllib.parse.quote(secret, safe='')}\n".encode(),
            "wizard-3.dom.txt": f"Your token: ...{token[-30:]}\n".encode(),
            "app.ipc.jsonl": json.dumps([{"cmd": "status", "result": {"t": token}}]).encode(),
        }
        for name, body in cases.items():
            d = t / name.replace("/", "_")
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            (d / name).write_bytes(body)
            hits, _, _ = scan([d], [secret, token])
            assert hits, f"the planted secret in {name} was not found"
        (t / "shot.png").write_bytes(secret.encode())
        hits, files, _ = scan([t / "clean"], [secret])
        assert not hits
        (t / TOKEN_LOG).write_text(token + "\nshort\n")
        assert logged_tokens(t / TOKEN_LOG) == [token, "short"]
        assert len(needles(["short"])) == 0, "values too short to be secrets are not searched"
        bridge = "rdA9rrpGk3mVq7xTz2PwHn5cYb4e"
        (t / BRIDGE_LOG).write_text(bridge + "\n")
        assert bridge_secrets(t / BRIDGE_LOG) == [bridge[BRIDGE_KEY_LEN:]]
        shown = t / "shown"
        shown.mkdir()
        (shown / "bridge-added.dom.txt").write_text(f"Password: {bridge}\n")
        (shown / "mailconn.sqlite3").write_bytes(b"id " + bridge[:BRIDGE_KEY_LEN].encode())
        hits, _, _ = scan([shown], [], shown_once=bridge_secrets(t / BRIDGE_LOG))
        assert not hits, "a bridge password shown once on screen, and its public id, are no leak"
        (shown / "mailconn.log").write_text(f"login with {bridge}\n")
        hits, _, _ = scan([shown], [], shown_once=bridge_secrets(t / BRIDGE_LOG))
        assert [Path(h[0]).name for h in hits] == ["mailconn.log"], hits
    print("leak-scan self-test: every planted secret was found, the clean files gave 0 hits")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", help="directories to search [default: the artifacts]")
    ap.add_argument("--fixtures", default=str(ROOT / "tests/idp/fixtures.json"))
    ap.add_argument("--tokens", action="append", default=[], help="more token log files")
    ap.add_argument("--require-tokens", action="store_true",
                    help="fail when the identity provider logged no tokens (the scan would prove nothing)")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    dirs = [Path(d) for d in (args.dirs or [os.environ.get("MAILCONN_ARTIFACTS", str(ROOT / "artifacts"))])]
    for d in dirs:
        if not d.is_dir():
            print(f"leak-scan: {d} is not a directory", file=sys.stderr)
            return 2
    tokens = []
    for log in [d / TOKEN_LOG for d in dirs] + [Path(p) for p in args.tokens]:
        tokens += logged_tokens(log)
    if args.require_tokens and not tokens:
        print(f"leak-scan: no {TOKEN_LOG} with issued tokens in {', '.join(map(str, dirs))}: "
              "nothing to search for", file=sys.stderr)
        return 1
    secrets = fixture_secrets(args.fixtures) + tokens
    bridge = [p for d in dirs for p in bridge_secrets(d / BRIDGE_LOG)]
    hits, files, total = scan(dirs, secrets, exclude=[args.fixtures], shown_once=bridge)
    searched = len({s for s in secrets + bridge if len(s) >= MIN_LEN})
    for path, at, secret in hits:
        print(f"LEAK: {mask(secret)} in {path} at byte {at}", file=sys.stderr)
    print(f"leak-scan: {searched} secrets and tokens ({len(set(bridge))} bridge passwords) searched in "
          f"{files} files ({total} bytes): {len(hits)} hits")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
