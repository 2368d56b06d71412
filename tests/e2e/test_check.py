"""ulak check: every configuration problem at once, with file and line."""
import re

from conftest import run

MASTER_OK = "smtp inet n - n - - smtpd\n"


def write_conf(confdir, main, master=MASTER_OK):
    (confdir / "main.cf").write_text(main)
    (confdir / "master.cf").write_text(master)


def test_clean_configuration_passes(confdir):
    write_conf(confdir, "myhostname = mx.example.test\n"
                   "mydestination = $myhostname, localhost\n")
    r = run("ulak", "-c", confdir, "check")
    assert r.rc == 0, r
    assert "error" not in r.err, r


def test_all_problems_reported_at_once(confdir):
    write_conf(confdir,
          "# comment\n"
          "message_size_limit = 10MB\n"
          "foo = bar\n"
          "smtpd_helo_required = maybe\n"
          "maximal_queue_lifetime = 5x\n",
          "smtp inet n - n - - smtpd\nsmtp2 inet n - x - - smtpd\n")
    r = run("ulak", "-c", confdir, "check")
    assert r.rc == 1, r
    main = f"{confdir}/main.cf"
    assert (f'ulak: error: {main}:2: message_size_limit: "10MB" is not a '
            'size\n') in r.err, r
    assert (f'ulak: error: {main}:4: smtpd_helo_required: "maybe" is not '
            'a boolean (yes or no)\n') in r.err, r
    assert f"ulak: error: {main}:5: maximal_queue_lifetime: " in r.err, r
    assert f"ulak: warning: {main}: unused parameter: foo=bar\n" in r.err, r
    assert re.search(r"master\.cf.*line 2.*chroot", r.err), r
    assert ("ulak: error: configuration check: 4 problems found in "
            f"{confdir}\n") in r.err, r


def test_syntax_errors_reported_once_each(confdir):
    write_conf(confdir, "myhostname = a\n=x\nfoo\n")
    r = run("ulak", "-c", confdir, "check")
    assert r.rc == 1, r
    main = f"{confdir}/main.cf"
    assert r.err == (f'ulak: error: {main}:2: missing attribute name: "=x"\n'
                     f"ulak: error: {main}:3: missing '=' after attribute "
                     'name: "foo"\n'
                     "ulak: error: configuration check: 2 problems found in "
                     f"{confdir}\n"), r


def test_not_acted_on_yet_is_a_warning(confdir):
    write_conf(confdir, "smtpd_tls_cert_file = /etc/ssl/cert.pem\n")
    r = run("ulak", "-c", confdir, "check")
    assert r.rc == 0, r
    assert (f"ulak: warning: {confdir}/main.cf:1: smtpd_tls_cert_file: "
            "accepted, not acted on yet by ulak\n") in r.err, r


def test_postfix_link_and_mail_config(confdir):
    write_conf(confdir, "message_size_limit = 10MB\n")
    r = run("postfix", "check", env={"MAIL_CONFIG": str(confdir)})
    assert r.rc == 1, r
    assert (f'postfix: error: {confdir}/main.cf:1: message_size_limit: '
            '"10MB" is not a size\n') in r.err, r


def test_missing_master_cf(confdir):
    (confdir / "main.cf").write_text("")
    r = run("ulak", "-c", confdir, "check")
    assert r.rc == 1, r
    assert f"{confdir}/master.cf" in r.err, r


def test_verbs_without_a_running_master_say_so(confdir, tmp_path):
    write_conf(confdir, f"data_directory = {tmp_path}/data\n"
                        f"queue_directory = {tmp_path}/queue\n")
    for verb in ["stop", "abort", "reload", "flush"]:
        r = run("ulak", "-c", confdir, verb)
        assert r.rc == 1, r
        assert r.err.endswith(
            "ulak: error: the ulak mail system is not running\n"), r
    r = run("ulak", "-c", confdir, "status")
    assert r.rc == 1, r
    assert r.err == "ulak: the ulak mail system is not running\n", r
    r = run("ulak", "-c", confdir, "set-permissions")
    assert r.rc == 1, r
    assert r.err == ("ulak: error: set-permissions: this ulak release "
                     "(0.1.0) does not have this command yet\n"), r


def test_unknown_verb(confdir):
    write_conf(confdir, "")
    r = run("ulak", "-c", confdir, "frobnicate")
    assert r.rc == 2, r
    assert "ulak: error: unknown command: 'frobnicate'\n" in r.err, r
