#!/bin/sh
# BLAS=1 and BLAS=0 builds take the same ALI-G step to float rounding: the
# fixed-data driver takes 2 ALI-G steps from the same weights with each build
# (max step 5, so the step is loss/(|g|^2+eps), not the cap): each step taken
# agrees to 1e-4 relative, and so do the weights (rtol 1e-4, atol 1e-6).
# Over many steps rounding grows through batch norm, so longer runs are not
# compared to this tolerance.
. tests/lib.sh
make -s BLAS=0 subbuild >"$TMP/b0.log" 2>&1 || { bad "BLAS=0 build failed"; tail "$TMP/b0.log"; finish; }
T0=$(make -s BLAS=0 print-TREE)
nm libdarknet.a | grep -q 'U cblas_sgemm' || { echo "this build has no BLAS: nothing to compare"; exit 77; }
nm "$T0/libdarknet.a" | grep -q 'U cblas_sgemm' && bad "BLAS=0 build still calls cblas_sgemm"
gcc -O2 -Iinclude -o "$TMP/t1" tests/tools/train_fixed.c libdarknet.a -lm -pthread -lopenblas || bad "driver (BLAS=1) does not build"
gcc -O2 -I"$T0/include" -o "$TMP/t0" tests/tools/train_fixed.c "$T0/libdarknet.a" -lm -pthread || bad "driver (BLAS=0) does not build"
for form in nesterov adjusted; do
    small_cfg "$TMP/a.cfg" "policy=alig
learning_rate=5
momentum=0.9
alig_momentum=$form
alig_max_norm=20"
    seed=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    "$TMP/t1" "$TMP/a.cfg" "$TMP/w1" 2 "$seed" 2>/dev/null | grep '^step' >"$TMP/s1" || bad "BLAS=1 run failed"
    "$TMP/t0" "$TMP/a.cfg" "$TMP/w0" 2 "$seed" 2>/dev/null | grep '^step' >"$TMP/s0" || bad "BLAS=0 run failed"
    if paste "$TMP/s1" "$TMP/s0" | awk '{ a=$6; b=$12; d=a-b; if (d<0) d=-d; if (!(a > 0) || d > 1e-4*a) bad=1; printf "    step %s: %s vs %s\n", $2, a, b } END { exit bad }'; then
        ok "$form, seed $seed: same ALI-G steps taken"
    else
        bad "$form, seed $seed: ALI-G steps differ"
    fi
    if r=$(tests/tools/compare_weights.py "$TMP/w1" "$TMP/w0" 1e-4 1e-6); then
        ok "$form, seed $seed: BLAS=1 and BLAS=0 agree ($r)"
    else
        bad "$form, seed $seed: BLAS=1 and BLAS=0 differ ($r)"
    fi
done
finish
