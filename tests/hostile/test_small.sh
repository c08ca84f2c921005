#!/usr/bin/env bash
# test_small.sh - issue 8 item 11: `lapse sample` removes its temporary file on SIGINT; `lapse
# info` refuses a FIFO instead of hanging; an unreadable input or output is reported as
# "Permission denied", not as "not an HDF5 file"; an input compressed with a filter this HDF5
# lacks (LZF, h5py's own) is refused at probe time naming the filter (exit 2, nothing written).
source "$(dirname "$0")/common.sh"
make_sample
cd "$T" || fail "cd $T"

note "1. lapse sample interrupted by SIGINT leaves no temporary file"
"$LAPSE" sample big.h5 --timepoints 50 --shape 64,512,512 >s1.log 2>&1 &
pid=$!
for _ in $(seq 100); do compgen -G "big.h5.tmp*" >/dev/null && break; sleep 0.05; done
compgen -G "big.h5.tmp*" >/dev/null || fail "no temporary file appeared"
kill -INT "$pid"
wait "$pid" && fail "lapse sample exited 0 after SIGINT"
! compgen -G "big.h5*" >/dev/null || { ls -l big.h5* >&2; fail "files left after SIGINT"; }

note "2. lapse info on a FIFO is refused at once"
mkfifo pipe.h5
refused l2.log "pipe.h5: not a regular file" timeout 20 "$LAPSE" info pipe.h5

note "3. permission denied is said so"
if setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    hcfg c0.yaml "$IN" out.h5
    run_ok l3a.log "$LAPSE" run c0.yaml
    cp "$IN" secret.h5
    chmod 600 secret.h5 out.h5
    chmod 777 "$T"
    nobody_session
    as_nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups \
            env OMPI_MCA_orte_tmpdir_base="$NOBODY_SESSION" "$@"
    }
    refused l3b.log "out.h5: cannot be read: Permission denied" as_nobody "$LAPSE" info out.h5
    hcfg c3.yaml secret.h5 out3.h5
    refused l3c.log "secret.h5: cannot be read: Permission denied" as_nobody "$LAPSE" run c3.yaml
    [ ! -e out3.h5 ] || fail "a refused run wrote out3.h5"
else
    echo "(setpriv cannot drop to nobody here; case 3 skipped)"
fi

note "4. an LZF-compressed input is refused at probe time, naming the filter"
"$LAPSE_PY" - "$IN" lzf.h5 <<'PY' || fail "writing the LZF input failed"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    data = f["/raw"][()]
with h5py.File(sys.argv[2], "w") as f:
    f.create_dataset("/raw", data=data, chunks=(1,) + data.shape[1:], compression="lzf")
PY
hcfg c4.yaml lzf.h5 out4.h5
refused l4.log "input.*filter 32000 \(lzf\).*not available" "$LAPSE" run c4.yaml
[ ! -e out4.h5 ] && [ ! -e out4.h5.creating ] || fail "a refused run wrote out4.h5"
grep -q "HDF5-DIAG\|#000" l4.log && fail "an HDF5 error trace was printed"
echo "PASS $TEST_NAME"
