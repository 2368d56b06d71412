#!/bin/sh
# run.sh - "make run": set up an unprivileged ulak instance under ./run,
# check it and start it: a mail server on 127.0.0.1:2525 that delivers
# mail for example.test to Maildirs under run/mail (alice, bob, and every
# other address of the domain to run/mail/catchall).  The instance's
# configuration is run/etc; its queue, data and log are run/spool,
# run/data and run/log.  An existing run/etc is kept (edit it freely);
# delete it to start over.  As root, the instance runs as the system user
# "ulak" (made when missing), so that it stays unprivileged.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/run
ulak=$top/build/ulak
bin=$top/build/bin

mkdir -p "$run/etc" "$run/spool" "$run/data" "$run/log" "$run/mail"
if [ "$(id -u)" = 0 ]; then
    id ulak >/dev/null 2>&1 ||
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin ulak
    as="runuser -u ulak --"
    user=ulak
else
    as=""
    user=$(id -un)
fi
uid=$(id -u "$user")
gid=$(id -g "$user")
if [ ! -f "$run/etc/main.cf" ]; then
    cat > "$run/etc/main.cf" <<CF
# main.cf of the ulak instance made by "make run" (same syntax as Postfix).
compatibility_level = 3.6
queue_directory = $run/spool
data_directory = $run/data
maillog_file = $run/log/maillog
maillog_file_prefixes = $run
mail_spool_directory = $run/mail
myhostname = mail.example.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination = \$myhostname, localhost
alias_maps = hash:$run/etc/aliases
alias_database = hash:$run/etc/aliases
# Mail for example.test goes to Maildirs under run/mail.
virtual_mailbox_domains = example.test
virtual_mailbox_base = $run/mail
virtual_mailbox_maps = texthash:$run/etc/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = 1
CF
    cat > "$run/etc/vmailbox" <<'CF'
# virtual(5) mailboxes of the "make run" instance: address, then the
# Maildir under run/mail (a trailing slash means Maildir).
alice@example.test    alice/
bob@example.test      bob/
@example.test         catchall/
CF
    cat > "$run/etc/master.cf" <<'CF'
# master.cf of the ulak instance made by "make run" (same format as Postfix).
# service          type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:2525     inet  n       -       n       -       -       smtpd
pickup             unix  n       -       n       60      1       pickup
cleanup            unix  n       -       n       -       0       cleanup
qmgr               unix  n       -       n       300     1       qmgr
rewrite            unix  -       -       n       -       -       trivial-rewrite
bounce             unix  -       -       n       -       0       bounce
defer              unix  -       -       n       -       0       bounce
smtp               unix  -       -       n       -       -       smtp
relay              unix  -       -       n       -       -       smtp
local              unix  -       n       n       -       -       local
virtual            unix  -       n       n       -       -       virtual
lmtp               unix  -       -       n       -       -       lmtp
error              unix  -       -       n       -       -       error
discard            unix  -       -       n       -       -       discard
anvil              unix  -       -       n       -       1       anvil
CF
    cat > "$run/etc/aliases" <<'CF'
# aliases(5) of the "make run" instance.
postmaster: root
CF
fi

echo "== ulak instance in $run/etc"
"$bin/postalias" -c "$run/etc" "hash:$run/etc/aliases"
[ -z "$as" ] || chown -R "$user" "$run"
$as "$ulak" -c "$run/etc" check && echo "== ulak -c run/etc check: no problems"
echo "== non-default settings (postconf -c run/etc -n):"
"$bin/postconf" -c "$run/etc" -n
if $as "$ulak" -c "$run/etc" status >/dev/null 2>&1; then
    $as "$ulak" -c "$run/etc" reload
else
    $as "$ulak" -c "$run/etc" start
fi
cat <<EOF
== ulak is serving SMTP on 127.0.0.1:2525.  Send it a message:
     swaks --server 127.0.0.1:2525 --from you@example.org --to alice@example.test
   and find it in $run/mail/alice/new/ (bob@ and any other
   address @example.test: $run/mail/bob/, $run/mail/catchall/).
   The log is $run/log/maillog; stop with: ${as:+$as }$ulak -c $run/etc stop
EOF
