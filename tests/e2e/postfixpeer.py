"""A throw-away Postfix (Debian's package, see scripts/deps.sh) as a real
peer of ulak: its own configuration, queue and log under ROOT, smtpd on
127.0.0.1:PORT only, nothing chrooted, no DNS (next hops are given as
[address]:port in its transport_maps).  Runs as root only: Postfix's
master starts as root and drops to the postfix user.

    with PostfixPeer(root, port, "transport_maps = texthash:/x\\n") as pf:
        ... pf.log() ...
"""
import os
import pathlib
import shutil
import subprocess

POSTFIX = "/usr/sbin/postfix"
MASTER_DIST = "/usr/share/postfix/master.cf.dist"


class PostfixPeer:
    def __init__(self, root, port, extra=""):
        self.root = pathlib.Path(root)
        self.etc = self.root / "etc"
        self.port = port
        self.extra = extra
        self.started = False

    def main_cf(self):
        r = self.root
        return (
            "compatibility_level = 3.6\n"
            f"queue_directory = {r}/spool\n"
            f"data_directory = {r}/data\n"
            "mail_owner = postfix\n"
            "setgid_group = postdrop\n"
            f"maillog_file = {r}/maillog\n"
            f"maillog_file_prefixes = {r}\n"
            "syslog_name = postfix-peer\n"
            "myhostname = mx.example.test\n"
            "mydomain = example.test\n"
            "inet_interfaces = 127.0.0.1\n"
            "inet_protocols = ipv4\n"
            "mynetworks = 127.0.0.0/8\n"
            f"mail_spool_directory = {r}/mail\n"
            "smtp_dns_support_level = disabled\n"
            "alias_maps =\n"
            "alias_database =\n" + self.extra)

    def master_cf(self):
        """Debian's master.cf with smtpd on 127.0.0.1:PORT and every
        service out of the chroot"""
        out = []
        for line in pathlib.Path(MASTER_DIST).read_text().splitlines():
            f = line.split()
            if line[:1] not in ("", "#", " ", "\t") and len(f) >= 8:
                if f[0] == "smtp" and f[1] == "inet":
                    f[0] = f"127.0.0.1:{self.port}"
                f[4] = "n"
                line = " ".join(f)
            out.append(line)
        return "\n".join(out) + "\n"

    def start(self):
        for d in ("etc", "spool", "data", "mail"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root / "data", "postfix")
        os.chmod(self.root, 0o755)
        (self.etc / "main.cf").write_text(self.main_cf())
        (self.etc / "master.cf").write_text(self.master_cf())
        for verb in ("check", "start"):
            r = subprocess.run([POSTFIX, "-c", str(self.etc), verb],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise RuntimeError(f"postfix {verb}: {r.stdout}{r.stderr}"
                                   f"\n{self.log()}")
        self.started = True
        return self

    def stop(self):
        if self.started:
            subprocess.run([POSTFIX, "-c", str(self.etc), "stop"],
                           capture_output=True, timeout=60)
            self.started = False

    def log(self):
        try:
            return (self.root / "maillog").read_text()
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
