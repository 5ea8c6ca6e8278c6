#!/usr/bin/env python3
"""Writes docs/guides/troubleshooting.md, the guide to Microsoft's AADSTS codes, from the app's own
catalogue: the codes and their groups are read from crates/core/src/aadsts/catalogue.rs, and each
code's words come from `mailconn explain CODE --json`, so the guide says exactly what the app says.

    scripts/guides-aadsts.py                 rewrite the guide
    scripts/guides-aadsts.py --check         exit 1 when the guide differs from what it would write

The CLI is $MAILCONN_CLI, else $CARGO_TARGET_DIR/debug/mailconn (default
~/.cache/mailconn/target/debug/mailconn); --cli PATH chooses another. scripts/test.sh runs --check.
"""
import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "crates/core/src/aadsts/catalogue.rs"
GUIDE = ROOT / "docs/guides/troubleshooting.md"

# What each remedy (core's `Remedy`, carried in an error's detail) puts on the screen. The buttons
# are those of ui/src/lib/connections/ConnectError.svelte (the sign-in's error screen, chosen by
# fixesFor() in connect.svelte.ts) and of the connection's page (ConnectionDetail.svelte).
REMEDIES = {
    "fix_redirect_uri": ("Check the app’s settings", "On the sign-in’s error screen: opens the Apps page. **Edit** on the app opens the wizard at what you pasted, with the portal’s instructions a few steps back (step 2 has the redirect URI and its platform); fix what differs in the portal or in the wizard."),
    "fix_registration": ("Check the app’s settings", "On the sign-in’s error screen: opens the Apps page. **Edit** on the app opens the wizard at what you pasted, with the portal’s instructions a few steps back (step 2 has the redirect URI and its platform); fix what differs in the portal or in the wizard."),
    "change_tenant": ("Change tenant", "On the sign-in’s error screen: back to the form with the **Tenant** field chosen."),
    "admin_consent": ("Admin consent link", "The link to send to an administrator; also on the Apps page, and in **Add organisation mailboxes** while consent is missing."),
    "rotate_secret": ("Rotate secret", "On the dashboard’s banner and the Apps page (**Rotate the app’s secret** on the connection’s page): replaces the secret."),
    "sign_in_again": ("Sign in again", "On the connection’s page."),
    "retry": ("Try again", "On the sign-in’s error screen: starts the sign-in over."),
    "contact_admin": ("(none)", "Only your administrator can lift it: quote the trace and correlation IDs the app shows."),
}

HEAD = """# Troubleshooting by AADSTS code

<!-- Written by scripts/guides-aadsts.py from crates/core/src/aadsts/catalogue.rs and
     `mailconn explain --json`; scripts/test.sh fails when it is out of date. Do not edit by hand. -->

When Microsoft refuses a sign-in, a token refresh or a test, its answer carries a code such as
`AADSTS50011`. Mail Connections shows it with what it means and what to change, and with the
**Trace ID** and **Correlation ID** Microsoft sent (quote both when you ask your administrator or
Microsoft for help). The same explanation is on the command line:

```sh
mailconn explain AADSTS50011      # or just 50011
mailconn explain -                # paste Microsoft's whole error text or JSON, then Ctrl-D
```

This page lists every code the app explains ({count} codes), grouped the way the app groups them.
For a code not here, `mailconn explain` still shows Microsoft's own words and where to look it up
(`https://login.microsoftonline.com/error?code=NNN`); Microsoft's reference is
[Microsoft Entra authentication and authorization error codes](https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
Where each of Microsoft's texts comes from is in [docs/MICROSOFT.md](../MICROSOFT.md#aadsts-codes).

## What the kinds mean

Each code has a kind, which decides what the app does when a background refresh meets it:

| kind | what the app does |
|---|---|
{kinds}

## The buttons

An error screen offers the way out that fits the code:

| button | where, and what it does |
|---|---|
{remedies}

## All codes at a glance

| code | kind | what it means |
|---|---|---|
{index}
"""


def catalogue_groups(text):
    """[(group title, [code, ...]), ...] in the catalogue's order."""
    groups = []
    for line in text.splitlines():
        heading = re.match(r"\s*// ---- (.+?) -+\s*$", line)
        if heading:
            groups.append((heading.group(1), []))
            continue
        code = re.match(r"\s*code: (\d+),\s*$", line)
        if code:
            if not groups:
                groups.append(("other codes", []))
            groups[-1][1].append(int(code.group(1)))
    entries = text.count("Entry {")
    found = sum(len(codes) for _, codes in groups)
    if entries != found or found == 0:
        sys.exit(f"guides-aadsts: read {found} codes but the catalogue has {entries} entries: update the parser")
    return groups


def explain(cli, code):
    out = subprocess.run([cli, "explain", str(code), "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"guides-aadsts: `mailconn explain {code}` exited with {out.returncode}: {out.stderr.strip()}")
    entry = json.loads(out.stdout)
    if entry.get("found") != "known" or entry.get("code") != code:
        sys.exit(f"guides-aadsts: the CLI does not know AADSTS{code} from the catalogue: {out.stdout.strip()}")
    return entry


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def heading(title):
    return title[0].upper() + title[1:]


def button(remedy):
    short = REMEDIES[remedy][0]
    return "none (ask your administrator)" if short == "(none)" else f"**{short}**"


def render(cli):
    groups = catalogue_groups(CATALOGUE.read_text(encoding="utf-8"))
    entries = {code: explain(cli, code) for _, codes in groups for code in codes}
    kinds = {}
    for e in entries.values():
        kinds.setdefault(e["class_label"], e["consequence"])
    used = {e["remedy"] for e in entries.values()}
    unknown = used - REMEDIES.keys()
    if unknown:
        sys.exit(f"guides-aadsts: remedies without words in REMEDIES: {sorted(unknown)}")

    index = []
    for _, codes in groups:
        for code in codes:
            e = entries[code]
            index.append(f"| [{code}](#aadsts{code}) | {e['class_label']} | {cell(e['meaning'])} |")
    out = HEAD.format(
        count=len(entries),
        kinds="\n".join(f"| {k} | {cell(v)} |" for k, v in kinds.items()),
        remedies="\n".join(dict.fromkeys(f"| {short} | {words} |" for r, (short, words) in REMEDIES.items() if r in used)),
        index="\n".join(index),
    )
    for title, codes in groups:
        out += f"\n## {heading(title)}\n"
        for code in codes:
            e = entries[code]
            out += (
                f"\n### AADSTS{code}\n\n"
                f"{e['meaning']}\n\n"
                f"- **Likely cause:** {e['cause']}\n"
                f"- **Fix:** {e['fix']}\n"
                f"- **In the app:** {e['class_label']}; button: {button(e['remedy'])}. {e['consequence']}\n"
                f"- **Microsoft's words:** “{e['microsoft']}”\n"
            )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when the guide is out of date")
    target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache/mailconn/target"))
    parser.add_argument("--cli", default=os.environ.get("MAILCONN_CLI", str(Path(target) / "debug/mailconn")))
    args = parser.parse_args()
    if not Path(args.cli).is_file():
        sys.exit(f"guides-aadsts: no mailconn CLI at {args.cli}: build it (cargo build -p mailconn-cli) or give --cli")
    text = render(args.cli)
    if args.check:
        current = GUIDE.read_text(encoding="utf-8") if GUIDE.exists() else ""
        if current != text:
            sys.exit(f"guides-aadsts: {GUIDE.relative_to(ROOT)} is out of date with the AADSTS catalogue: run scripts/guides-aadsts.py")
        print(f"{GUIDE.relative_to(ROOT)} matches the catalogue")
        return
    GUIDE.parent.mkdir(parents=True, exist_ok=True)
    GUIDE.write_text(text, encoding="utf-8")
    print(f"wrote {GUIDE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
