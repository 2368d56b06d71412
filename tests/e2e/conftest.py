"""Shared fixtures for the end-to-end tests.

Every test runs the real build/ulak binary (through its build/bin links) in a
throw-away configuration directory of its own.
"""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = ROOT / "build" / "bin"
ULAK = ROOT / "build" / "ulak"
DATA = ROOT / "tests" / "data"


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return f"rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def run(prog, *args, stdin=None, env=None, timeout=60, cwd=None):
    """Run an ulak program (a build/bin link name, or "ulak")."""
    exe = ULAK if prog == "ulak" else BIN / prog
    e = dict(os.environ)
    e.pop("MAIL_CONFIG", None)
    if env:
        e.update(env)
    proc = subprocess.run([str(exe), *map(str, args)], input=stdin,
                          capture_output=True, text=True, env=e,
                          timeout=timeout, cwd=cwd)
    return Result(proc)


@pytest.fixture
def confdir(tmp_path):
    """An empty configuration directory with an empty main.cf."""
    d = tmp_path / "etc"
    d.mkdir()
    (d / "main.cf").write_text("")
    return d
