"""Shared helpers of the Fashion-MNIST scripts in this folder.

scripts/fashion-mnist-to-darknet (classifier set) and
scripts/make-fashion-detection (detection set) both read the four IDX files
of Debian's dataset-fashion-mnist and write PNGs; this module holds what they
share: the label names, the IDX reader with its error messages, PNG chunks
and atomic text writes. Standard library only.
"""

import gzip
import os
import struct
import zlib

# Class names in class order. Darknet's classifier matches them as substrings
# of image paths, so none may be a substring of another.
LABELS = ["tee", "trouser", "pullover", "dress", "coat",
          "sandal", "shirt", "sneaker", "bag", "ankleboot"]

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

# (set name, images file, labels file), without the .gz suffix.
SETS = (
    ("train", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("test", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
)


class ConvertError(Exception):
    """A problem with the input or the arguments; the message names the file."""


# ---------------------------------------------------------------- IDX input

def find_source(src, base):
    """Return the path of base.gz, else of base (uncompressed)."""
    gz = os.path.join(src, base + ".gz")
    raw = os.path.join(src, base)
    if os.path.isfile(gz):
        return gz
    if os.path.isfile(raw):
        return raw
    raise ConvertError("%s: not found (nor %s); install the Debian package "
                       "dataset-fashion-mnist or pass --src DIR" % (gz, raw))


def read_file(path):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except EOFError:
        raise ConvertError("%s: truncated gzip stream" % path)
    except (OSError, zlib.error) as e:
        raise ConvertError("%s: cannot read: %s" % (path, e))


def parse_idx(path, want_magic, want_ndims):
    """Return (dims, payload memoryview) of an unsigned-byte IDX file."""
    data = read_file(path)
    header = 4 + 4 * want_ndims
    if len(data) < 4:
        raise ConvertError("%s: truncated: %d bytes, too short for an IDX "
                           "header" % (path, len(data)))
    magic, = struct.unpack(">I", data[:4])
    if magic != want_magic:
        raise ConvertError("%s: bad magic number 0x%08x, expected 0x%08x "
                           "(%s IDX file)"
                           % (path, magic, want_magic,
                              "image" if want_ndims == 3 else "label"))
    if len(data) < header:
        raise ConvertError("%s: truncated: %d bytes, header needs %d"
                           % (path, len(data), header))
    dims = struct.unpack(">%dI" % want_ndims, data[4:header])
    if dims[0] == 0:
        raise ConvertError("%s: contains no items" % path)
    if any(d == 0 for d in dims[1:]):
        raise ConvertError("%s: bad dimensions %s" % (path, "x".join(map(str, dims))))
    need = 1
    for d in dims:
        need *= d
    have = len(data) - header
    if have < need:
        raise ConvertError("%s: truncated: %d data bytes, header %s needs %d"
                           % (path, have, "x".join(map(str, dims)), need))
    if have > need:
        raise ConvertError("%s: %d trailing bytes after the %s data"
                           % (path, have - need, "x".join(map(str, dims))))
    return dims, memoryview(data)[header:]


def load_set(images_path, labels_path, limit=None):
    """Return (count, rows, cols, pixels, labels) of one set, first `limit`."""
    idims, pixels = parse_idx(images_path, IMAGES_MAGIC, 3)
    ldims, labels = parse_idx(labels_path, LABELS_MAGIC, 1)
    count, rows, cols = idims
    if ldims[0] != count:
        raise ConvertError("%s: %d labels, but %s has %d images"
                           % (labels_path, ldims[0], images_path, count))
    labels = bytes(labels)
    bad = [i for i, v in enumerate(labels) if v >= len(LABELS)]
    if bad:
        raise ConvertError("%s: label %d at index %d is outside 0..%d"
                           % (labels_path, labels[bad[0]], bad[0], len(LABELS) - 1))
    if limit is not None and limit < count:
        count = limit
    return count, rows, cols, pixels[:count * rows * cols], labels[:count]


def source_record(path):
    """What .complete remembers of a source file to notice it changed."""
    st = os.stat(path)
    return {"path": os.path.abspath(path), "size": st.st_size,
            "mtime_ns": st.st_mtime_ns}


# --------------------------------------------------------------- PNG output

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind, payload):
    return (struct.pack(">I", len(payload)) + kind + payload +
            struct.pack(">I", zlib.crc32(kind + payload) & 0xffffffff))


def write_bytes(path, data):
    """Write a whole file with os.write (no buffering layer)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


# ------------------------------------------------------------------ text

def write_text(path, text):
    """Write text atomically (LF endings); returns True if it changed."""
    try:
        with open(path, "r", newline="") as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def write_text_dir(path, text):
    """write_text, creating the parent folder first."""
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    return write_text(path, text)
