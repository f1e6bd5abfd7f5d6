#!/bin/sh
# Training stops cleanly (issue 6): a non-finite loss with a non-alig policy
# stops with a message and exit 1 without saving NaN weights (patch 0206);
# SIGTERM/SIGINT during training saves complete, loadable weights and exits
# 128+signal (patch 0207).
. tests/lib.sh
DN=${DARKNET:-./darknet}
fashion_small
B=$TMP/backup

# learning_rate=1e30, policy=constant: the loss turns non-finite.
small_cfg "$TMP/nan.cfg" "policy=constant
learning_rate=1e30"
sed -i 's/batch=32/batch=8/' "$TMP/nan.cfg"
expect_fail nonfinite_loss "$TMP/nan.cfg" "non-finite loss" "last weights file saved is unchanged" -- \
    timeout 120 "$DN" classifier train "$FASHION.data" "$TMP/nan.cfg"
[ -e "$B/nan.weights" ] && bad "nonfinite_loss: a weights file was saved" || ok "no weights saved after the non-finite loss"
sed 's/^policy=constant/policy=steps\nsteps=1000\nscales=.1/' "$TMP/nan.cfg" > "$TMP/nan_steps.cfg"
expect_fail nonfinite_loss_steps "$TMP/nan_steps.cfg" "non-finite loss" -- \
    timeout 120 "$DN" classifier train "$FASHION.data" "$TMP/nan_steps.cfg"
# nonfinite_stop=0: upstream's behaviour (trains on).
small_cfg "$TMP/nanok.cfg" "policy=constant
learning_rate=1e30
nonfinite_stop=0"
sed -i 's/batch=32/batch=8/; s/max_batches=40/max_batches=4/' "$TMP/nanok.cfg"
if timeout 120 "$DN" classifier train "$FASHION.data" "$TMP/nanok.cfg" >"$TMP/out" 2>&1; then ok "nonfinite_stop=0 trains on"
else bad "nonfinite_stop=0 stopped"; tail -3 "$TMP/out"; fi

# SIGTERM during a long run: the final weights are saved and load again.
small_cfg "$TMP/long.cfg" ""
sed -i 's/batch=32/batch=8/; s/max_batches=40/max_batches=1000000/' "$TMP/long.cfg"
"$DN" classifier train "$FASHION.data" "$TMP/long.cfg" >"$TMP/long.out" 2>&1 &
pid=$!
n=0
iters() { c=$(grep -c ' images$' "$TMP/long.out" 2>/dev/null); echo "${c:-0}"; }
while [ $n -lt 300 ] && [ "$(iters)" -lt 20 ]; do sleep 0.2; n=$((n+1)); done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] && ok "SIGTERM: exit 143" || bad "SIGTERM: exit $rc"
grep -q "Terminated (SIGTERM) at iteration .*weights saved to $B/long.weights" "$TMP/long.out" \
    && ok "SIGTERM: $(grep Terminated "$TMP/long.out")" || bad "SIGTERM: no message"
ls "$B" | grep -q '\.tmp\.' && bad "SIGTERM: temporary file left" || ok "SIGTERM: no temporary file left"
it=$(sed -n 's/^Terminated (SIGTERM) at iteration \([0-9]*\).*/\1/p' "$TMP/long.out")
# Load it (a truncated file is refused by 0204) and train one more iteration.
sed "s/max_batches=1000000/max_batches=$((it + 1))/" "$TMP/long.cfg" > "$TMP/resume.cfg"
if timeout 120 "$DN" classifier train "$FASHION.data" "$TMP/resume.cfg" "$B/long.weights" >"$TMP/out" 2>&1 \
   && grep -q "^$((it + 1)), " "$TMP/out"; then
    ok "SIGTERM: saved weights are complete, load and resume at iteration $((it + 1))"
else bad "SIGTERM: saved weights do not resume"; tail -3 "$TMP/out"; fi
# ALI-G from the command line: the sidecar is written and restored on resume.
small_cfg "$TMP/ag.cfg" "policy=alig
learning_rate=0.5
bn_recalibrate=0"
sed -i 's/batch=32/batch=8/; s/max_batches=40/max_batches=3/' "$TMP/ag.cfg"
timeout 120 "$DN" classifier train "$FASHION.data" "$TMP/ag.cfg" >"$TMP/out" 2>&1
[ -s "$B/ag.weights.alig" ] && ok "ALI-G: sidecar ag.weights.alig written" || bad "ALI-G: no sidecar"
sed 's/max_batches=3/max_batches=5/' "$TMP/ag.cfg" > "$TMP/ag5.cfg"
if timeout 120 "$DN" classifier train "$FASHION.data" "$TMP/ag5.cfg" "$B/ag.weights" >"$TMP/out" 2>&1 \
   && grep -q "momentum restored from $B/ag.weights.alig (3 steps taken)" "$TMP/out"; then
    ok "ALI-G: resume restores momentum (3 steps taken)"
else bad "ALI-G: resume did not restore momentum"; grep ALI-G "$TMP/out" | tail -2; fi
finish
