#!/usr/bin/env bash
# test_links.sh - issue 8 item 1: <output>.lock and <output>.creating never follow symbolic
# links, and a lock or staging path that is not a regular file of ours is refused (exit 2, a
# clear message, nothing written, the link's target byte-identical).
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"
printf 'precious\n' >victim
V=$(sha victim)
hcfg c.yaml "$IN" out.h5

note "1. out.h5.lock is a symbolic link to another file"
ln -s "$T/victim" out.h5.lock
refused l1.log "lock marker .*out.h5.lock is a symbolic link" "$LAPSE" run c.yaml
same_sha victim "$V" "1"
[ ! -e out.h5 ] || fail "1: out.h5 was written"
rm out.h5.lock

note "2. out.h5.lock is a dangling symbolic link (it must not be created through it)"
ln -s "$T/made-by-lapse" out.h5.lock
refused l2.log "is a symbolic link" "$LAPSE" run c.yaml
[ ! -e made-by-lapse ] || fail "2: the link's target was created"
rm out.h5.lock

note "3. out.h5.creating is a symbolic link to another file"
ln -s "$T/victim" out.h5.creating
refused l3.log "staging file .*out.h5.creating is a symbolic link" "$LAPSE" run c.yaml
same_sha victim "$V" "3"
[ ! -e out.h5 ] && [ ! -e out.h5.lock ] || fail "3: out.h5 or its lock marker was left"
rm out.h5.creating

note "4. out.h5.lock is a FIFO"
mkfifo out.h5.lock
refused l4.log "lock marker .* not a regular file" timeout 20 "$LAPSE" run c.yaml
rm out.h5.lock

note "5. out.h5.lock is a hard link to another file"
ln victim out.h5.lock
refused l5.log "lock marker .* one link" "$LAPSE" run c.yaml
same_sha victim "$V" "5"
rm out.h5.lock

note "6. out.h5.creating is a directory"
mkdir out.h5.creating
refused l6.log "staging file .* not a regular file" "$LAPSE" run c.yaml
rmdir out.h5.creating

note "7. the output is a dangling symbolic link"
ln -s "$T/nowhere.h5" dang.h5
hcfg d.yaml "$IN" dang.h5
refused l7.log "symbolic link to a missing file" "$LAPSE" run d.yaml
[ ! -e nowhere.h5 ] || fail "7: written through the dangling link"

note "8. a stale regular staging file of ours (a killed run's) is replaced, the run succeeds"
printf 'stale' >out.h5.creating
run_ok l8.log "$LAPSE" run c.yaml
[ -f out.h5 ] && [ ! -e out.h5.creating ] && [ ! -e out.h5.lock ] || fail "8: leftovers"

if command -v setpriv >/dev/null; then
    note "9. another user's lock marker is refused (run as nobody)"
    chmod 777 "$T"
    chmod 644 "$IN"
    hcfg n.yaml "$IN" nout.h5
    chmod 644 n.yaml
    printf 'root\n' >nout.h5.lock
    chmod 666 nout.h5.lock
    R=$(sha nout.h5.lock)
    nobody_session
    refused l9.log "lock marker .* not a regular file of this user" \
        setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp \
        OMPI_MCA_orte_tmpdir_base="$NOBODY_SESSION" "$LAPSE" run n.yaml
    same_sha nout.h5.lock "$R" "9"
fi
echo "PASS $TEST_NAME"
