"""Binary data as 7-bit text inside an HTML page: 8/7 of the bytes, where base64 takes 4/3.

The page is UTF-8; inside a ``<script>`` element whose type is not JavaScript every ASCII character survives
the HTML parser except three: NUL (becomes U+FFFD), CR (becomes LF) and ``<`` (could start ``</script`` or
``<!--``). The bytes are read as a stream of 7-bit groups; a group that is one of those three is written as one
two-byte character U+0080 + 128 * (which of the three) + (the next group) (base122's idea, for this set), every
other group as its ASCII character. ``decode7`` in the page's worker reverses it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ILLEGAL", "encode7", "decode7", "byte_planes", "from_byte_planes"]

ILLEGAL = (0, 13, 60)   # NUL, CR, "<"


def _groups(data: bytes) -> np.ndarray:
    """The 7-bit groups of ``data`` (most significant bit first), then one legal group (an escape at the end
    always has a partner)."""
    n = len(data)
    a = np.frombuffer(data + b"\0" * ((-n) % 7), dtype=np.uint8).reshape(-1, 7).astype(np.uint64)
    w = np.zeros(len(a), np.uint64)
    for k in range(7):                                        # 7 bytes -> one 56-bit word -> 8 groups
        w = (w << np.uint64(8)) | a[:, k]
    g = np.stack([(w >> np.uint64(49 - 7 * j)) & np.uint64(127) for j in range(8)], 1).reshape(-1)
    return np.concatenate([g[: -(-8 * n // 7)].astype(np.int64), [1]])


def encode7(data: bytes) -> str:
    """``data`` -> a str of characters U+0001..U+01FF, none of them NUL, CR or "<"."""
    v = _groups(bytes(data))
    ill = (v == ILLEGAL[0]) | (v == ILLEGAL[1]) | (v == ILLEGAL[2])
    i = np.arange(len(v))
    # an escape starts at every other position of a run of illegal groups (the run's 1st, 3rd, ...); its partner,
    # the group after it, is consumed whatever it is
    starts = ill & ~np.concatenate([[False], ill[:-1]])
    run_start = np.maximum.accumulate(np.where(starts, i, 0))
    esc = ill & ((i - run_start) % 2 == 0)
    esc[-1] = False                                         # the padding group is legal anyway
    consumed = np.concatenate([[False], esc[:-1]])
    keep = ~consumed
    which = np.searchsorted(ILLEGAL, v)                      # index in ILLEGAL where v is illegal
    partner = np.concatenate([v[1:], [0]])
    cp = np.where(esc, 0x80 + 128 * which + partner, v)[keep]
    two = cp >= 0x80
    out = np.empty(len(cp) + int(two.sum()), np.uint8)
    pos = np.arange(len(cp)) + np.concatenate([[0], np.cumsum(two)[:-1]])
    out[pos] = np.where(two, 0xC0 | (cp >> 6), cp)
    out[pos[two] + 1] = 0x80 | (cp[two] & 0x3F)
    return out.tobytes().decode("utf-8")


def decode7(text: str, n: int) -> bytes:
    """The inverse of :func:`encode7` for ``n`` bytes (a reference for the page's JavaScript decoder)."""
    cp = np.array([ord(ch) for ch in text], dtype=np.int64)
    esc = cp >= 0x80
    d = cp - 0x80
    groups = np.empty(len(cp) + int(esc.sum()), np.int64)
    pos = np.arange(len(cp)) + np.concatenate([[0], np.cumsum(esc)[:-1]])
    groups[pos] = np.where(esc, np.asarray(ILLEGAL)[np.clip(d >> 7, 0, 2)], cp)
    groups[pos[esc] + 1] = d[esc] & 127
    groups = groups[: -(-8 * n // 7)]
    groups = np.concatenate([groups, np.zeros((-len(groups)) % 8, np.int64)]).reshape(-1, 8).astype(np.uint64)
    w = np.zeros(len(groups), np.uint64)
    for j in range(8):
        w = (w << np.uint64(7)) | groups[:, j]
    out = np.stack([(w >> np.uint64(48 - 8 * k)) & np.uint64(255) for k in range(7)], 1).astype(np.uint8)
    return out.reshape(-1)[:n].tobytes()


def byte_planes(data: bytes) -> bytes:
    """Even bytes, then odd bytes (a zero appended to an odd length): float16 weights' sign-and-exponent bytes land
    together, so gzip packs an ONNX file with float16 weights about 7% smaller."""
    a = np.frombuffer(bytes(data) + b"\0" * (len(data) % 2), dtype=np.uint8)
    return np.concatenate([a[0::2], a[1::2]]).tobytes()


def from_byte_planes(data: bytes, n: int) -> bytes:
    """The inverse of :func:`byte_planes` for ``n`` original bytes (the page's worker does the same)."""
    a = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(len(a), np.uint8)
    out[0::2], out[1::2] = a[: len(a) // 2], a[len(a) // 2:]
    return out[:n].tobytes()
