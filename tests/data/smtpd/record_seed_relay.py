#!/usr/bin/python3
"""record_seed_relay - ask Debian's Postfix 3.7 smtpd how the relay control
of each seed main.cf (tests/data/seeds) answers, and write the answers as
golden cases for tests/e2e/test_smtpd_seeds.py.

    record_seed_relay.py WORKDIR > seed_relay_golden.txt      (as root)

For each seed it makes the seed's tables in WORKDIR/SEED/tables with
Postfix's postmap/postalias, starts a postfix-ref instance
(/work/shared/tools/postfix-ref) with the seed's main.cf (paths rewritten,
machine overrides appended: see instance_main()) appended to postfix-ref's
own main.cf, removes postfix-ref's own settings of parameters that the
seed leaves at their default (postconf -X, then postfix reload), runs the
sessions and stops the instance.

The test imports this file for SEEDS and instance_main(), so that ulak's
instance gets exactly the same main.cf text.

Each case is one session: banner, "EHLO rec.example", "XCLIENT ADDR=...
NAME=..." (xclient: its reply is the new banner), "EHLO NAME", MAIL FROM,
then each RCPT TO, then QUIT.  The first line of each reply is recorded,
whatever the reply before it was (a refused EHLO or MAIL does not stop the
session).  Output, one line a step, TAB separated:
    seed  case#  client_addr  client_name  step  argument  reply
"""
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
SEED_DIR = HERE.parent / "seeds"
POSTFIX_REF = "/work/shared/tools/postfix-ref"
PORT0 = 25480

SENDER = "a@example.org"
REMOTE = "u@remote.example"
OUTSIDE = ("192.0.2.1", "outside.example")

# Per seed: the main.cf used (003's faithful copy has the scrape's empty
# myhostname and mynetworks, which Postfix cannot run with: the .fixed
# one), an address inside the seed's mynetworks (None: the seed has none),
# a domain of its mydestination (as Postfix expands it), the tables the
# seed names that are shipped with it (path in the seed, file in
# tests/data/seeds, how it is built: hash, alias or file), and overrides
# besides the common ones (with the reason).
SEEDS = {
    "000": {
        "main": "000/main.cf",
        "inside": "78.189.47.167",
        "local": "gunduz.org",
        "tables": [],
        "extra": {},
    },
    "001": {
        "main": "001/main.cf",
        # no mynetworks: mynetworks_style = host (compatibility_level 3.6),
        # the addresses of inet_interfaces
        "inside": "127.0.0.1",
        "local": "info.boratanrikulu.me",
        "tables": [("/etc/postfix/local_recipients", "001/local_recipients",
                    "hash")],
        "extra": {},
    },
    "002": {
        "main": "002/main.cf",
        "inside": "10.5.1.1",
        # no mydestination: $myhostname, localhost.$mydomain, localhost
        "local": "hostname.example.com",
        "tables": [("/name/of/file", "002/transport", "hash"),
                   ("/etc/postfix/virtual_aliases", "002/virtual_aliases",
                    "hash"),
                   ("/etc/postfix/virtual_mboxes", "002/virtual_mboxes",
                    "hash"),
                   ("/usr/local/etc/postfix/aliases", "002/aliases",
                    "alias"),
                   ("/usr/local/etc/postfix/script_filter",
                    "002/script_filter", "hash"),
                   ("/usr/local/etc/postfix/greylist_filter",
                    "002/greylist_filter", "hash"),
                   ("/usr/local/etc/postfix/spf_filter", "002/spf_filter",
                    "hash")],
        "extra": {},
    },
    "003": {
        "main": "003/main.cf.fixed",
        "inside": "127.0.0.2",
        "local": "mail.example.com",
        "tables": [("/etc/postfix/whitelist", "003/whitelist", "hash")],
        # proxy:ldap:PostfixUser: no LDAP client (Debian's postfix-ldap is
        # not installed, ulak has none) and no LDAP server here.
        # myorigin = /etc/mailname: Debian's Postfix reads the file and
        # stops (fatal) when it is missing, as here; the seed does not
        # ship it.
        "extra": {"virtual_alias_maps": "", "myorigin": "$myhostname"},
    },
    "004": {
        "main": "004/main.cf",
        "inside": "192.168.0.5",
        "local": "deimos.fr",
        "tables": [("/etc/postfix/mime_header_checks.regexp",
                    "004/mime_header_checks.regexp", "file"),
                   ("/etc/mailname", "004/mailname", "file")],
        "extra": {},
    },
}

# What every instance changes to run on this machine (the seed's own line
# for each of these is commented out, so that no line overrides another
# and Postfix logs no "overriding earlier entry" for them).  SASL: no
# Dovecot or Cyrus SASL server here (seeds 002 and 003 enable it).
# mail_owner: the instance's owner is the machine's.  compatibility_level
# and inet_protocols are postfix-ref's own settings, repeated so that ulak
# runs the same.
COMMON = {"compatibility_level": "3.6",
          "inet_interfaces": "127.0.0.1",
          "inet_protocols": "ipv4",
          "smtpd_sasl_auth_enable": "no",
          "smtpd_authorized_xclient_hosts": "127.0.0.0/8"}
DROP = ["mail_owner"]

# postfix-ref sets these; removed from its main.cf when the seed does not.
REF_OWN = ["mynetworks", "mydomain", "alias_maps", "alias_database"]


def seed_keys(text):
    """seed_keys - the parameter names a main.cf text sets"""
    return {m.group(1) for m in re.finditer(r"^([A-Za-z0-9_]+)\s*=", text,
                                            re.M)}


def instance_main(seed, tabdir):
    """instance_main - the seed's main.cf with the shipped tables' paths
    pointing into TABDIR, the seed's lines for COMMON, DROP and the seed's
    own overrides commented out (with their continuation lines), then the
    overrides"""
    s = SEEDS[seed]
    text = (SEED_DIR / s["main"]).read_text()
    for path, src, _ in s["tables"]:
        text = text.replace(path, "%s/%s" % (tabdir, os.path.basename(src)))
    over = dict(COMMON)
    over.update(s["extra"])
    out, skip = [], False
    for line in text.splitlines():
        m = re.match(r"([A-Za-z0-9_]+)\s*=", line)
        if m:
            skip = m.group(1) in over or m.group(1) in DROP
        elif not line.strip() or line.lstrip().startswith("#"):
            out.append(line)    # inside a logical line or not: skipped
            continue
        out.append("# (machine) " + line if skip else line)
    out.append("# --- overrides to run on this machine ---")
    out += ["%s = %s" % kv for kv in over.items()]
    return "\n".join(out) + "\n"


def build_tables(seed, tabdir, postmap, postalias):
    """build_tables - copy the seed's tables into TABDIR and index them
    with the given postmap and postalias commands (lists)"""
    tabdir.mkdir(parents=True, exist_ok=True)
    for _, src, kind in SEEDS[seed]["tables"]:
        dst = tabdir / os.path.basename(src)
        shutil.copyfile(SEED_DIR / src, dst)
        os.chmod(dst, 0o644)
        if kind == "hash":
            subprocess.run(postmap + ["hash:%s" % dst], check=True)
        elif kind == "alias":
            subprocess.run(postalias + ["hash:%s" % dst], check=True)


def cases(seed):
    """cases - (client, EHLO name, rcpts) of each session: from inside, a
    remote recipient; from outside, the same and the probes against a
    local domain, once with a host name (seed 002 looks it up in the DNS)
    and once with an address literal"""
    s = SEEDS[seed]
    local = s["local"]
    probes = ["u%%remote.example@%s" % local,
              "\"u@remote.example\"@%s" % local,
              "@%s:u@remote.example" % local,
              "remote.example!u@%s" % local,
              "u@remote.example@%s" % local]
    out = []
    if s["inside"]:
        out.append(((s["inside"], "inside.example"), "inside.example",
                    [REMOTE]))
    rcpts = [REMOTE] + probes + ["postmaster@%s" % local]
    out.append((OUTSIDE, OUTSIDE[1], rcpts))
    out.append((OUTSIDE, "[%s]" % OUTSIDE[0], rcpts))
    return out


def reply(f):
    """reply - the lines of one SMTP reply"""
    lines = []
    while True:
        ln = f.readline().decode("latin-1")
        if not ln:
            return lines or ["EOF"]
        ln = ln.rstrip("\r\n")
        lines.append(ln)
        if len(ln) < 4 or ln[3] != "-":
            return lines


def session(port, addr, name, helo, rcpts, timeout=120):
    """session - run one case; returns [(step, argument, first reply line)]"""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = s.makefile("rb")
    out = []

    def step(what, arg, line):
        s.sendall(line.encode() + b"\r\n")
        out.append((what, arg, reply(f)[0]))

    try:
        reply(f)
        s.sendall(b"EHLO rec.example\r\n")
        reply(f)
        step("xclient", addr, "XCLIENT ADDR=%s NAME=%s" % (addr, name))
        step("ehlo", helo, "EHLO " + helo)
        step("mail", SENDER, "MAIL FROM:<%s>" % SENDER)
        for rc in rcpts:
            step("rcpt", rc, "RCPT TO:<%s>" % rc)
        s.sendall(b"QUIT\r\n")
    finally:
        s.close()
    return out


def wait_port(port, timeout=30):
    """wait_port - until PORT answers with a banner"""
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                if s.makefile("rb").readline().startswith(b"220"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("port %d does not answer" % port)


def main():
    """main - every seed, every case"""
    work = pathlib.Path(sys.argv[1]).resolve()
    for n, seed in enumerate(SEEDS):
        port = PORT0 + n
        d = work / seed
        shutil.rmtree(d, ignore_errors=True)
        tabdir = d / "tables"
        build_tables(seed, tabdir, ["/usr/sbin/postmap"],
                     ["/usr/sbin/postalias"])
        os.chmod(d, 0o755)
        os.chmod(tabdir, 0o755)
        text = instance_main(seed, tabdir)
        # postfix-ref writes its main.cf and master.cf and starts; its
        # main.cf is then rewritten so that no line overrides another
        # (each "overriding earlier entry" warning goes to postlogd, which
        # logs its own to itself and stalls), and the instance restarted.
        ref = d / "ref"
        subprocess.run([POSTFIX_REF, "start", str(ref), str(port)],
                       check=True, stdout=sys.stderr)
        etc = str(ref / "etc")
        try:
            subprocess.run([POSTFIX_REF, "stop", str(ref)], check=True)
            keys = seed_keys(text)
            base = [ln for ln in (ref / "etc" / "main.cf").read_text()
                    .splitlines()
                    if not (re.match(r"([a-z_]+) =", ln)
                            and (ln.split()[0] in keys
                                 or ln.split()[0] in REF_OWN))]
            (ref / "etc" / "main.cf").write_text("\n".join(base) + "\n"
                                                 + text)
            subprocess.run(["postfix", "-c", etc, "start"], check=True,
                           stdout=sys.stderr)
            wait_port(port)
            for c, ((addr, name), helo, rcpts) in enumerate(cases(seed)):
                for what, arg, r in session(port, addr, name, helo, rcpts):
                    print("\t".join([seed, str(c), addr, name, what, arg, r]))
                sys.stdout.flush()
        finally:
            subprocess.run([POSTFIX_REF, "stop", str(ref)])


if __name__ == "__main__":
    main()
