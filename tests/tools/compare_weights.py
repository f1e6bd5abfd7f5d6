#!/usr/bin/python3
"""Compares two Darknet .weights files: same header, and every float equal
within a relative tolerance. Usage: compare_weights.py A B [RTOL] [ATOL]"""
import struct
import sys

def read(path):
    with open(path, 'rb') as f:
        major, minor, revision = struct.unpack('<3i', f.read(12))
        seen = f.read(8 if major * 10 + minor >= 2 else 4)
        body = f.read()
    n = len(body) // 4
    return (major, minor, revision, seen), struct.unpack('<%df' % n, body[:4 * n])

def main():
    rtol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-4
    atol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-6
    ha, a = read(sys.argv[1])
    hb, b = read(sys.argv[2])
    if ha != hb or len(a) != len(b):
        print('headers or sizes differ: %s %d vs %s %d' % (ha, len(a), hb, len(b)))
        return 1
    worst, at = 0.0, -1
    for i, (x, y) in enumerate(zip(a, b)):
        err = abs(x - y) / (atol + rtol * max(abs(x), abs(y)))
        if not err <= worst:
            worst, at = err, i
        if x != x or y != y:
            print('NaN at %d' % i)
            return 1
    print('%d floats; worst |a-b| / (atol + rtol*|a|) = %.3g at index %d (rtol %g, atol %g)' % (len(a), worst, at, rtol, atol))
    return 0 if worst <= 1 else 1

sys.exit(main())
