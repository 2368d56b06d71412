"""dnsserver - the tests' own DNS server: Debian's unbound on loopback.

    with DnsServer(tmp_path, ["example.test. 300 IN MX 10 mx1.example.test.",
                              "mx1.example.test. IN A 127.0.0.2"],
                   servfail=["broken.test"]) as dns:
        main_cf["ulak_dns_servers"] = dns.servers     # "127.0.0.1:PORT"

unbound runs in server mode (no recursion, no root hints, no trust
anchor) on 127.0.0.1 and a free port, with the RECORDS as local-data
(zone-file lines).  Every name without records answers NXDOMAIN (the root is
a static local zone); names under a SERVFAIL entry are refused, which
libunbound, the forwarder inside ulak, reports as SERVFAIL (ulak: DNS_RETRY,
"Host not found, try again"); names under an NXDOMAIN entry answer NXDOMAIN
even when records exist below them.

Also a command for hand use and for the C unit tests:
    python3 tests/e2e/dnsserver.py DIR RECORD... ; prints "127.0.0.1:PORT",
    runs until its standard input closes.
"""
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import time

UNBOUND = shutil.which("unbound", path="/usr/sbin:/usr/bin:/sbin:/bin")


def free_port():
    """A port that is free for UDP and TCP on 127.0.0.1 (as far as one can
    tell before using it)."""
    for _ in range(50):
        port = random.randint(20000, 60000)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def quote(s):
    """S as an unbound.conf quoted string: double quotes, or single ones
    around a TXT record's quoted text."""
    if "\n" in s or ('"' in s and "'" in s):
        raise ValueError(f"bad record: {s!r}")
    return f"'{s}'" if '"' in s else f'"{s}"'


def zone(name):
    """NAME as an absolute domain name."""
    return name if name.endswith(".") else name + "."


def query(port, name, qtype=1, timeout=2.0):
    """Ask 127.0.0.1:PORT for NAME/QTYPE over UDP; the reply's rcode and
    answer count (a hand-built RFC 1035 query)."""
    qid = random.randint(0, 0xFFFF)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        while True:
            data, _ = s.recvfrom(65535)
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    flags, _, ancount = struct.unpack(">HHH", data[2:8])
    return flags & 0xF, ancount


class DnsServer:
    """unbound serving RECORDS on 127.0.0.1:PORT; see the module text."""

    def __init__(self, workdir, records, servfail=(), nxdomain=()):
        self.dir = os.path.join(str(workdir), "dns")
        self.records = list(records)
        self.servfail = list(servfail)
        self.nxdomain = list(nxdomain)
        self.port = None
        self.servers = None
        self.proc = None

    def config(self):
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            f"  port: {self.port}",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f"  directory: {quote(self.dir)}",
            f"  pidfile: {quote(os.path.join(self.dir, 'unbound.pid'))}",
            '  logfile: ""',
            "  use-syslog: no",
            "  verbosity: 1",
            "  num-threads: 1",
            "  do-ip6: no",
            "  so-reuseport: no",
            "  access-control: 127.0.0.0/8 allow",
            '  module-config: "iterator"',
            '  root-hints: ""',
            "  cache-max-ttl: 0",
            "  cache-max-negative-ttl: 0",
            # Records in the order given (tests assert orders).
            "  rrset-roundrobin: no",
            # Nothing is recursed: a name without records is NXDOMAIN.
            '  local-zone: "." static',
        ]
        for name in self.nxdomain:
            lines.append(f"  local-zone: {quote(zone(name))} always_nxdomain")
        for name in self.servfail:
            lines.append(f"  local-zone: {quote(zone(name))} refuse")
        for rec in self.records:
            lines.append(f"  local-data: {quote(rec)}")
        lines += ["remote-control:", "  control-enable: no", ""]
        return "\n".join(lines)

    def start(self, timeout=10.0):
        if UNBOUND is None:
            raise RuntimeError("unbound is not installed (scripts/deps.sh)")
        os.makedirs(self.dir, exist_ok=True)
        for _ in range(5):
            self.port = free_port()
            conf = os.path.join(self.dir, "unbound.conf")
            with open(conf, "w") as f:
                f.write(self.config())
            check = subprocess.run([UNBOUND + "-checkconf", conf],
                                   capture_output=True, text=True)
            if check.returncode != 0:
                raise RuntimeError("unbound.conf: " + check.stdout
                                   + check.stderr)
            log = open(os.path.join(self.dir, "unbound.log"), "ab")
            self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf],
                                         stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    query(self.port, "ping.invalid", timeout=0.2)
                    self.servers = f"127.0.0.1:{self.port}"
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()  # the port was taken meanwhile, or it is slow
        with open(os.path.join(self.dir, "unbound.log")) as f:
            raise RuntimeError("unbound did not start: " + f.read()[-2000:])

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    """dnsserver.py DIR [--servfail NAME] [--nxdomain NAME] RECORD..."""
    records, servfail, nxdomain = [], [], []
    args = argv[2:]
    while args:
        a = args.pop(0)
        if a == "--servfail":
            servfail.append(args.pop(0))
        elif a == "--nxdomain":
            nxdomain.append(args.pop(0))
        else:
            records.append(a)
    with DnsServer(argv[1], records, servfail, nxdomain) as dns:
        print(dns.servers, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv)
