#!/bin/sh
# scripts/fetch-upstream: a DARKNET_SRC at another commit is refused; a
# tarball with the wrong checksum is refused; when no way works it stops with
# one message naming all three ways. apt-get and git are replaced by stubs on
# PATH, so nothing is downloaded.
. tests/lib.sh
mkdir -p "$TMP/bin" "$TMP/other"
cat > "$TMP/bin/apt-get" <<'STUB'
#!/bin/sh
# "update" works; "source" leaves a tarball with the right name and wrong bytes
case " $* " in *" source "*) echo corrupt > darknet_0.0.0+git20180914.61c9d02e.orig.tar.xz;; esac
exit 0
STUB
cat > "$TMP/bin/git" <<'STUB'
#!/bin/sh
case "$1" in clone) exit 128;; esac
exec /usr/bin/git "$@"
STUB
chmod +x "$TMP/bin/apt-get" "$TMP/bin/git"
(cd "$TMP/other" && /usr/bin/git init -q && echo x > f && /usr/bin/git add f && /usr/bin/git -c user.name=t -c user.email=t@t commit -qm x)
PATH="$TMP/bin:$PATH" DARKNET_SRC="$TMP/other" scripts/fetch-upstream "$TMP/dest" "$TMP/work" >"$TMP/out" 2>&1
rc=$?
[ $rc -ne 0 ] && ok "no way works: exit $rc" || bad "exit 0 without a verified upstream"
for s in "DARKNET_SRC=$TMP/other is at commit" "wrong sha256" "git clone" "1. DARKNET_SRC" "2. Debian's source package" "3. git clone"; do
    grep -qF -- "$s" "$TMP/out" && ok "message says: $s" || { bad "message lacks: $s"; cat "$TMP/out"; }
done
[ ! -e "$TMP/dest" ] && ok "nothing unpacked" || bad "unverified tree left at DEST"
finish
