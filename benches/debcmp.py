#!/usr/bin/env python3
"""Explains how two .deb files differ, layer by layer (used by scripts/bench).

    debcmp.py OURS.deb PEER.deb

Prints the ar member headers, each compressed member's container header
(xz block header flags, gzip header), and for control.tar and data.tar the
uncompressed tar streams compared entry by entry: which header fields
differ (with the first example), whether file data differs, and the
archive's trailing padding. Only the standard library is used.
"""

import gzip
import lzma
import sys
import zlib

try:
    import zstandard  # type: ignore
except ImportError:  # zstd members are compared compressed only
    zstandard = None

FIELDS = [  # (name, offset, length) in a ustar/GNU header block
    ("name", 0, 100), ("mode", 100, 8), ("uid", 108, 8), ("gid", 116, 8),
    ("size", 124, 12), ("mtime", 136, 12), ("chksum", 148, 8), ("typeflag", 156, 1),
    ("linkname", 157, 100), ("magic", 257, 6), ("version", 263, 2), ("uname", 265, 32),
    ("gname", 297, 32), ("devmajor", 329, 8), ("devminor", 337, 8), ("prefix", 345, 155),
    ("pad", 500, 12),
]


def ar_members(path):
    data = open(path, "rb").read()
    if data[:8] != b"!<arch>\n":
        raise SystemExit(f"{path}: not an ar archive")
    pos, out = 8, []
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        size = int(header[48:58])
        out.append((header, data[pos + 60:pos + 60 + size]))
        pos += 60 + size + (size & 1)
    return out


def decompress(name, blob):
    if name.endswith(".xz"):
        return lzma.decompress(blob)
    if name.endswith(".gz"):
        return gzip.decompress(blob)
    if name.endswith(".zst"):
        return zstandard.ZstdDecompressor().decompressobj().decompress(blob) if zstandard else None
    return blob


def container(name, blob):
    """A short description of the compressed stream's framing."""
    if name.endswith(".xz") and len(blob) > 13:
        check = {0: "none", 1: "crc32", 4: "crc64", 10: "sha256"}.get(blob[7] & 0x0F, "?")
        flags = blob[13]
        sizes = []
        if flags & 0x40:
            sizes.append("compressed size")
        if flags & 0x80:
            sizes.append("uncompressed size")
        return f"xz check={check}, first block header stores {' + '.join(sizes) or 'no sizes'}"
    if name.endswith(".gz") and len(blob) > 10:
        return (f"gzip flags=0x{blob[3]:02x} mtime={int.from_bytes(blob[4:8], 'little')} "
                f"xfl={blob[8]} os={blob[9]}")
    return "uncompressed" if "." not in name.split("tar")[-1] else "?"


def tar_entries(data):
    """(header, payload) pairs up to the end-of-archive blocks, plus the trailer length."""
    pos, out = 0, []
    while pos + 512 <= len(data):
        header = data[pos:pos + 512]
        if header == bytes(512):
            break
        size = int(header[124:136].strip(b"\0 ") or b"0", 8)
        payload = data[pos + 512:pos + 512 + size]
        out.append((header, payload))
        pos += 512 + (size + 511) // 512 * 512
    return out, len(data) - pos


def show(raw):
    return raw.rstrip(b"\0").decode("latin-1") if raw.strip(b"\0") else "(zeros)"


def compare_tar(label, a, b):
    ea, ta = tar_entries(a)
    eb, tb = tar_entries(b)
    print(f"  {label}: ours {len(a)} bytes / {len(ea)} entries, dpkg-deb {len(b)} bytes / {len(eb)} entries")
    if ta != tb:
        note = " (dpkg-deb's GNU tar pads the archive to a 10240-byte record)" if len(b) % 10240 == 0 else ""
        print(f"    end-of-archive zeros: ours {ta} bytes, dpkg-deb {tb} bytes{note}")
    names_a = [show(h[0:100]) for h, _ in ea]
    names_b = [show(h[0:100]) for h, _ in eb]
    if names_a != names_b:
        print("    entry names/order differ")
    field_diffs, data_diffs = {}, 0
    for (ha, pa), (hb, pb) in zip(ea, eb):
        for name, off, length in FIELDS:
            fa, fb = ha[off:off + length], hb[off:off + length]
            if fa != fb:
                entry = field_diffs.setdefault(name, [0, show(ha[0:100]), fa, fb])
                entry[0] += 1
        if pa != pb:
            data_diffs += 1
    for name, (count, example, fa, fb) in field_diffs.items():
        print(f"    header field {name!r} differs in {count} entries, e.g. {example}: "
              f"ours {fa!r} vs dpkg-deb {fb!r}")
    if data_diffs:
        print(f"    file data differs in {data_diffs} entries")
    if not field_diffs and not data_diffs and names_a == names_b and ta == tb:
        print("    identical")


def main():
    ours, peer = ar_members(sys.argv[1]), ar_members(sys.argv[2])
    for (ha, _), (hb, _) in zip(ours, peer):
        if ha != hb:
            print(f"  ar header: ours {ha[:58].decode()!r}")
            print(f"             dpkg {hb[:58].decode()!r}")
    if len(ours) != len(peer):
        print(f"  ar members: ours {len(ours)}, dpkg-deb {len(peer)}")
    for (ha, ba), (hb, bb) in zip(ours, peer):
        name_a, name_b = ha[:16].decode().strip(), hb[:16].decode().strip()
        if not name_a.endswith(tuple(f".{x}" for x in ("xz", "gz", "zst", "tar"))):
            continue
        ca, cb = container(name_a, ba), container(name_b, bb)
        if ca != cb:
            print(f"  {name_a} framing: ours {ca}; dpkg-deb {cb}")
        if ba == bb:
            print(f"  {name_a}: identical")
            continue
        try:
            ua, ub = decompress(name_a, ba), decompress(name_b, bb)
        except (lzma.LZMAError, OSError, zlib.error, EOFError) as e:
            print(f"  {name_a}: cannot decompress: {e}")
            continue
        if ua is None or ub is None:
            print(f"  {name_a}: differs (not decompressed: no zstandard module)")
            continue
        compare_tar(name_a.split(".tar")[0] + ".tar", ua, ub)


if __name__ == "__main__":
    main()
