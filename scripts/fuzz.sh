#!/bin/bash
# fuzz.sh - build the libFuzzer drivers of tests/fuzz and run them.
#
#   scripts/fuzz.sh smoke      the parsers of network input ($net_targets)
#                              for $FUZZ_NET_SECONDS (default 60) s each, the
#                              others for $FUZZ_SECONDS (default 30) s each,
#                              $FUZZ_JOBS (default 2) at a time
#   scripts/fuzz.sh TARGET [libFuzzer options...]   one target, open-ended
#
# Each target's committed corpus is tests/fuzz/corpus/TARGET; new inputs go
# to build/fuzz/corpus/TARGET, so a run never rewrites the repository.  A
# crash leaves its input in build/fuzz/ and fails the run: turn it into a
# golden test case and fix the parser.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make --no-print-directory -s B=build/fuzz SAN=fuzz fuzzers >/dev/null
mode=${1:-smoke}
secs=${FUZZ_SECONDS:-30}
net_secs=${FUZZ_NET_SECONDS:-60}
# What a remote SMTP client reaches (issue 4): command lines, MAIL/RCPT
# with their ESMTP parameters, addresses.  They run longest, and first.
net_targets="fuzz_smtpd_cmd fuzz_smtpd_mail_rcpt fuzz_addr"

run_one() {
    local t=$1; shift
    local work=build/fuzz/corpus/$t seed=tests/fuzz/corpus/$t
    mkdir -p "$work" "$seed"
    local dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    "build/fuzz/fuzz/$t" "${dict[@]}" -artifact_prefix="build/fuzz/$t-" \
        "$@" "$work" "$seed"
}

if [ "$mode" != smoke ]; then
    shift
    run_one "$mode" "$@"
    exit
fi
# Smoke: every target for $secs seconds, $FUZZ_JOBS (default 2: the cores)
# at a time.
jobs=${FUZZ_JOBS:-2}
smoke_one() {
    local t=$1 s=$secs
    case " $net_targets " in *" $t "*) s=$net_secs ;; esac
    if ! run_one "$t" -seed=1 -max_total_time="$s" -timeout=10 \
        -rss_limit_mb=1024 >"build/fuzz/$t.log" 2>&1; then
        tail -n 40 "build/fuzz/$t.log"
        echo "fuzz: $t FAILED (log: build/fuzz/$t.log)"
        return 1
    fi
}
export -f run_one smoke_one
export secs net_secs net_targets
targets=()
for t in $net_targets; do
    [ -e "tests/fuzz/$t.c" ] || { echo "fuzz: no tests/fuzz/$t.c"; exit 1; }
    targets+=("$t")
done
for src in tests/fuzz/*.c; do
    [ -e "$src" ] || continue
    t=$(basename "$src" .c)
    case " $net_targets " in *" $t "*) continue ;; esac
    targets+=("$t")
done
if ! printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'smoke_one {}'; then
    exit 1
fi
echo "fuzz: ${#targets[@]} targets (network parsers ${net_secs}s, others ${secs}s), no crashes"
