"""An independent PNG decoder for the tests (8-bit gray or RGB, no interlace):
checks the signature, chunk lengths and CRCs, inflates IDAT and undoes the
five row filters. decode_png(path, channels) -> (width, height, pixels),
pixels row-major with `channels` bytes each."""
import struct
import zlib

COLOR_TYPE = {1: 0, 3: 2}   # channels -> PNG colour type (gray, RGB)


def decode_png(path, channels):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "bad PNG signature"
    pos, chunks = 8, []
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        crc, = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert len(body) == n, "truncated chunk"
        assert zlib.crc32(kind + body) & 0xffffffff == crc, "bad CRC in %r" % kind
        chunks.append((kind, body))
        pos += 12 + n
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND", kinds
    w, h, depth, ctype, comp, filt, inter = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, ctype, comp, filt, inter) == (8, COLOR_TYPE[channels], 0, 0, 0), \
        "not 8-bit with %d channel(s)" % channels
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    stride, bpp = channels * w, channels
    assert len(raw) == h * (stride + 1), "IDAT size"
    pix, prev = bytearray(), bytearray(stride)
    for r in range(h):
        ft, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if ft == 1: line[i] = (line[i] + a) & 255
            elif ft == 2: line[i] = (line[i] + b) & 255
            elif ft == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
            else: assert ft == 0, "filter type %d" % ft
        pix += line
        prev = line
    return w, h, bytes(pix)
