#!/usr/bin/env bash
# Fetches Debian's stock amd64 kernel (the linux-image-amd64 package, no root install) and
# extracts its uncompressed ELF vmlinux (which has a PVH entry note) to DEST.
# Usage: fetch-debian-kernel.sh DEST
set -euo pipefail
dest=${1:?usage: fetch-debian-kernel.sh DEST}
[[ -s "$dest" ]] && exit 0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# The meta package depends on the versioned image package; download that one.
apt-get download linux-image-amd64 >/dev/null 2>&1 || { apt-get update -qq && apt-get download linux-image-amd64 >/dev/null; }
pkg=$(dpkg-deb -f linux-image-amd64_*.deb Depends | sed -E 's/^(linux-image-[^ ,]+).*/\1/')
apt-get download "$pkg" >/dev/null 2>&1
dpkg-deb -x "$pkg"_*.deb root
vmlinuz=$(ls root/boot/vmlinuz-*)
mkdir -p "$(dirname "$dest")"
python3 - "$vmlinuz" "$dest.tmp" <<'PY'
import lzma, sys, zlib
data = open(sys.argv[1], 'rb').read()
# The bzImage payload is compressed; find the stream by its magic and decompress it.
xz = data.find(b'\xfd7zXZ\x00')
if xz >= 0:
    out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[xz:])
else:
    gz = data.find(b'\x1f\x8b\x08')
    out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[gz:])
assert out[:4] == b'\x7fELF', 'no ELF vmlinux inside the bzImage'
open(sys.argv[2], 'wb').write(out)
PY
cp "$vmlinuz" "$dest.bzImage"
mv "$dest.tmp" "$dest"
