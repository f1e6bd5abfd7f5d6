#!/bin/sh
# `make patch` writes one combined patch that applies with patch -p1 to a
# clean tree of the pinned commit and builds there with upstream's own
# Makefile, giving a darknet that knows policy=alig.
. tests/lib.sh
make -s patch >"$TMP/patch.log" 2>&1 || { bad "make patch failed"; tail "$TMP/patch.log"; finish; }
[ -s alig-darknet.patch ] && ok "alig-darknet.patch written ($(grep -c '^diff ' alig-darknet.patch) files)" || bad "no patch file"
cp -a build/upstream "$TMP/tree" && rm -f "$TMP/tree/.fetched"
(cd "$TMP/tree" && patch -p1 -s < "$OLDPWD/alig-darknet.patch") && ok "applies with patch -p1" || bad "does not apply"
(cd "$TMP/tree" && make -j2 >"$TMP/build.log" 2>&1) && ok "builds with upstream's Makefile" || { bad "build failed"; tail -5 "$TMP/build.log"; }
small_cfg "$TMP/x.cfg" "policy=alig
learning_rate=0"
printf 'classes=10\ntrain=%s/none.list\nlabels=%s/none.labels\n' "$TMP" "$TMP" > "$TMP/x.data"
expect_fail "patched upstream build validates policy=alig" "learning_rate=0" -- "$TMP/tree/darknet" classifier train "$TMP/x.data" "$TMP/x.cfg"
finish
