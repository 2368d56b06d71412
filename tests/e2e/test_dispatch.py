"""The multi-call binary: links, 'ulak NAME', and commands not built yet."""
import os

from conftest import BIN, ULAK, run

PROGS = ["postfix", "postconf", "postmap", "postalias", "newaliases",
         "postqueue", "mailq", "postsuper", "postcat", "sendmail"]


def test_links_point_to_ulak():
    for p in PROGS:
        link = BIN / p
        assert link.is_symlink(), p
        assert os.path.realpath(link) == os.path.realpath(ULAK), p


def test_ulak_name_runs_the_named_program(confdir):
    via_link = run("postconf", "-c", confdir, "-d", "mail_name")
    via_ulak = run("ulak", "postconf", "-c", confdir, "-d", "mail_name")
    assert via_link.rc == 0 and via_ulak.rc == 0, (via_link, via_ulak)
    assert via_link.out == via_ulak.out
