#!/bin/sh
# run.sh - "make run": set up an unprivileged ulak instance under ./run and
# check it.  The instance's configuration is run/etc; its queue, data, log
# and mailboxes are run/spool, run/data, run/log and run/mail.  An existing
# run/etc is kept (edit it freely); delete it to start over.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/run
ulak=$top/build/ulak
bin=$top/build/bin

mkdir -p "$run/etc" "$run/spool" "$run/data" "$run/log" "$run/mail"
if [ ! -f "$run/etc/main.cf" ]; then
    user=$(id -un)
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
CF
    if [ "$(id -u)" != 0 ]; then
        echo "mail_owner = $user" >> "$run/etc/main.cf"
    fi
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
CF
    cat > "$run/etc/aliases" <<'CF'
# aliases(5) of the "make run" instance.
postmaster: root
CF
fi

echo "== ulak instance in $run/etc"
"$bin/postalias" -c "$run/etc" "hash:$run/etc/aliases"
"$ulak" -c "$run/etc" check && echo "== ulak -c run/etc check: no problems"
echo "== non-default settings (postconf -c run/etc -n):"
"$bin/postconf" -c "$run/etc" -n
echo "== the log is $run/log/maillog"
