#!/usr/bin/env python3
"""Hyperledger Fabric block vectors for `fabric-block`.

Independent Python reimplementation of hyperledger/fabric protoutil/blockutils.go
@0c423ac47fd87fc3d4084eb06d6589bc518ed1ff:
  ComputeBlockDataHash = sha256(bytes.Join(data, nil))
  BlockHeaderHash      = sha256(asn1.Marshal(asn1Header{Number *big.Int (from uint64),
                                PreviousHash []byte, DataHash []byte}))
                       = sha256(DER SEQUENCE{INTEGER number, OCTET STRING prev, OCTET STRING data_hash})
(Number became a big.Int in cbad2f6e, FAB-15118, 2019; before that int64: same bytes below 2^63.)

Real blocks: blocks 1..7 of Fabric's test ledger
internal/ledgerutil/testdata/sample_prod/ledgersData/chains/chains/mychannel/blockfile_000000
(blkstorage serialisation: common/ledger/blkstorage/block_serialization.go serializeBlock), read
with a tiny varint reader; each block's previous_hash equals the DER header hash computed here of the
block before it, which checks the DER encoding against the chain.  Block 0 (a 15 KB config envelope)
is too large for a vector file; its values go to SOURCES.md only.
Generated blocks (random envelope bytes, fixed seed) exercise DER INTEGER lengths and leading zeros.

Usage: python3 tests/vectors/gen/fabric.py [--mirror GIT_DIR]
  GIT_DIR defaults to /work/.mirror/hyperledger+fabric/repo; without it the real-block files already
  committed are only re-checked.
"""
import hashlib
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VEC = os.path.join(os.path.dirname(HERE), "fabric-block")
FABRIC = "hyperledger/fabric@0c423ac47fd87fc3d4084eb06d6589bc518ed1ff"
LEDGER = "internal/ledgerutil/testdata/sample_prod/ledgersData/chains/chains/mychannel/blockfile_000000"


def sha256(b):
    return hashlib.sha256(b).digest()


# ---- DER ------------------------------------------------------------------------------------

def der_len(n):
    if n < 128:
        return bytes([n])
    s = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(s)]) + s


def der_int(n):
    assert n >= 0
    s = n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
    if s[0] & 0x80:
        s = b"\0" + s  # a positive INTEGER whose top bit is set gets a leading zero
    return b"\x02" + der_len(len(s)) + s


def der_octets(b):
    return b"\x04" + der_len(len(b)) + b


def header_bytes(number, prev, data_hash):
    body = der_int(number) + der_octets(prev) + der_octets(data_hash)
    return b"\x30" + der_len(len(body)) + body


def header_hash(number, prev, data_hash):
    return sha256(header_bytes(number, prev, data_hash))


def data_hash(data):
    return sha256(b"".join(data))


# known DER encodings (X.690 minimal two's complement)
assert der_int(0) == bytes.fromhex("020100")
assert der_int(127) == bytes.fromhex("02017f")
assert der_int(128) == bytes.fromhex("02020080")
assert der_int(255) == bytes.fromhex("020200ff")
assert der_int(256) == bytes.fromhex("02020100")
assert der_int(2 ** 31) == bytes.fromhex("02050080000000")
assert der_int(2 ** 64 - 1) == bytes.fromhex("020900ffffffffffffffff")


# ---- blockfile reader -----------------------------------------------------------------------

def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def read_blockfile(b):
    """[(number, previous_hash, data_hash, [data], [metadata])] from a Fabric blkstorage file."""
    i, out = 0, []
    while i < len(b):
        n, i = varint(b, i)
        s, i = b[i:i + n], i + n
        j = 0
        num, j = varint(s, j)
        l, j = varint(s, j)
        dh, j = s[j:j + l], j + l
        l, j = varint(s, j)
        prev, j = s[j:j + l], j + l
        lists = []
        for _ in range(2):  # data, then metadata
            cnt, j = varint(s, j)
            items = []
            for _ in range(cnt):
                l, j = varint(s, j)
                items.append(bytes(s[j:j + l]))
                j += l
            lists.append(items)
        assert j == len(s)
        out.append((num, bytes(prev), bytes(dh), lists[0], lists[1]))
    return out


# ---- documents ------------------------------------------------------------------------------

def hx(b):
    return "0x" + b.hex()


def un(s):
    return bytes.fromhex(s[2:] if s.startswith("0x") else s)


def doc(number, prev, data, dh, hh):
    return {"format": "fabric-block", "number": number, "previous_hash": hx(prev),
            "data": [hx(d) for d in data], "data_hash": hx(dh), "header_hash": hx(hh)}


def check_doc(d):
    data = [un(x) for x in d["data"]]
    dh = un(d["data_hash"])
    return data_hash(data) == dh and header_hash(d["number"], un(d["previous_hash"]), dh) == un(d["header_hash"])


def tamper_ok(d):
    for k, v in d.items():
        if k == "format":
            continue
        fields = [(k, None, v)] if isinstance(v, str) else (
            [(k, i, x) for i, x in enumerate(v)] if isinstance(v, list) else [])
        for key, i, s in fields:
            b = un(s)
            for j in range(len(b)):
                for mask in (0x01, 0x80):
                    b2 = bytearray(b)
                    b2[j] ^= mask
                    t = dict(d)
                    if i is None:
                        t[key] = hx(bytes(b2))
                    else:
                        t[key] = list(d[key])
                        t[key][i] = hx(bytes(b2))
                    if check_doc(t):
                        return False
    return True


def main():
    mirror = "/work/.mirror/hyperledger+fabric/repo"
    if "--mirror" in sys.argv:
        mirror = sys.argv[sys.argv.index("--mirror") + 1]
    out, inv, src = {}, {}, {}
    notes = []

    real = None
    if os.path.isdir(mirror):
        commit = subprocess.run(["git", "--git-dir", mirror, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        raw = subprocess.run(["git", "--git-dir", mirror, "show", "HEAD:" + LEDGER], capture_output=True, check=True).stdout
        real = read_blockfile(raw)
        prev_hh = None
        for num, prev, dh, data, meta in real:
            assert data_hash(data) == dh, num
            hh = header_hash(num, prev, dh)
            if prev_hh is not None:
                assert prev == prev_hh, ("chain link", num)  # the chain confirms the DER header hash
            prev_hh = hh
            origin = "real block %d of hyperledger/fabric@%s %s (%d envelope(s), %d bytes)" % (num, commit, LEDGER, len(data), sum(map(len, data)))
            if sum(map(len, data)) * 2 + 600 < 15000:
                name = "sample-prod-block%d" % num
                out[name] = doc(num, prev, data, dh, hh)
                nxt = "; block %d's previous_hash equals this header_hash" % (num + 1) if num + 1 < len(real) else ""
                src[name + ".json"] = origin + nxt
            else:
                notes.append("- not a vector (too large): %s: number=%d previous_hash=%s data_hash=%s header_hash=%s (sha256 of the DER header, equal to block %d's previous_hash)"
                             % (origin, num, prev.hex() or "(empty)", dh.hex(), hh.hex(), num + 1))
        r1, r2 = real[1], real[2]
        RI = "false claim from real blocks of %s: " % LEDGER
        bad = {
            "real-wrong-data-hash": (doc(r1[0], r1[1], r1[3], r2[2], header_hash(r1[0], r1[1], r2[2])), "block 1 with block 2's data_hash (header hash consistent with it)"),
            "real-wrong-header-hash": (doc(r1[0], r1[1], r1[3], r1[2], header_hash(r2[0], r2[1], r2[2])), "block 1 with block 2's header hash"),
            "real-data-of-next-block": (doc(r1[0], r1[1], r2[3], r1[2], header_hash(r1[0], r1[1], r1[2])), "block 1's header with block 2's envelope"),
            "real-wrong-number": (doc(2, r1[1], r1[3], r1[2], header_hash(r1[0], r1[1], r1[2])), "block 1 claimed as number 2"),
            "real-protobuf-header-hash": (doc(r1[0], r1[1], r1[3], r1[2], sha256(b"\x08" + bytes([r1[0]]) + b"\x12\x20" + r1[1] + b"\x1a\x20" + r1[2])), "header_hash = sha256 of the protobuf BlockHeader instead of the DER form"),
            "real-data-hash-as-merkle": (doc(r1[0], r1[1], r1[3], sha256(sha256(r1[3][0])), header_hash(r1[0], r1[1], sha256(sha256(r1[3][0])))), "data_hash = sha256(sha256(envelope)) (a tree-style leaf hash), not sha256(concat)"),
        }
        for name, (d, why) in bad.items():
            inv[name] = d
            src["invalid/" + name + ".json"] = RI + why
    else:
        print("fabric mirror not found: keeping committed real-block vectors", file=sys.stderr)

    rng = random.Random(20240601)
    G = "generated by gen/fabric.py (random envelope bytes, seed 20240601)"
    for number, n_env in ((0, 1), (1, 2), (127, 1), (128, 3), (255, 1), (256, 2), (2 ** 31, 1), (2 ** 32, 1), (2 ** 63, 1), (2 ** 64 - 1, 2)):
        data = [bytes(rng.getrandbits(8) for _ in range(rng.randint(40, 300))) for _ in range(n_env)]
        prev = b"" if number == 0 else bytes(rng.getrandbits(8) for _ in range(32))
        dh = data_hash(data)
        name = "gen-number-%d" % number
        out[name] = doc(number, prev, data, dh, header_hash(number, prev, dh))
        src[name + ".json"] = G + "; DER INTEGER %s" % der_int(number).hex() + ("; genesis: empty previous_hash (OCTET STRING 0400)" if number == 0 else "")

    g = out["gen-number-128"]
    data = [un(x) for x in g["data"]]
    prev, dh = un(g["previous_hash"]), un(g["data_hash"])
    hh = header_hash(128, prev, dh)
    I = "false claim from gen-number-128: "
    bad = {
        "gen-reordered-data": (doc(128, prev, [data[1], data[0], data[2]], dh, hh), "first two envelopes swapped"),
        "gen-dropped-envelope": (doc(128, prev, data[:2], dh, hh), "last envelope dropped"),
        "gen-extra-envelope": (doc(128, prev, data + [data[0]], dh, hh), "first envelope repeated at the end"),
        "gen-wrong-data-hash": (doc(128, prev, data, data_hash(data[:2]), header_hash(128, prev, data_hash(data[:2]))), "data_hash of the first two envelopes (header hash consistent with it)"),
        "gen-wrong-header-hash": (doc(128, prev, data, dh, header_hash(129, prev, dh)), "header hash of number 129"),
        "gen-number-without-leading-zero": (doc(128, prev, data, dh, sha256(b"\x30\x47\x02\x01\x80" + der_octets(prev) + der_octets(dh))), "INTEGER 128 encoded as 020180 (no leading zero: that is -128)"),
        "gen-der-trailing-byte": (doc(128, prev, data, dh, sha256(b"\x30\x49\x02\x02\x00\x80" + der_octets(prev) + der_octets(dh) + b"\x00")), "hash of a SEQUENCE with a trailing zero byte inside"),
    }
    g0 = out["gen-number-0"]
    d0, dh0 = [un(x) for x in g0["data"]], un(g0["data_hash"])
    bad["gen-genesis-zero-prev"] = (doc(0, b"\0" * 32, d0, dh0, header_hash(0, b"", dh0)), "genesis with 32 zero bytes as previous_hash (the header hash is over an empty one)")
    for name, (d, why) in bad.items():
        inv[name] = d
        src["invalid/" + name + ".json"] = (I if name.startswith("gen-") and not name.startswith("gen-genesis") else "false claim from gen-number-0: ") + why

    for name, d in out.items():
        assert check_doc(d), name
        assert tamper_ok(d), ("tamper accepted", name)
    for name, d in inv.items():
        assert not check_doc(d), ("invalid accepted", name)

    os.makedirs(os.path.join(VEC, "invalid"), exist_ok=True)
    for name, d in out.items():
        write(os.path.join(VEC, name + ".json"), d)
    for name, d in inv.items():
        write(os.path.join(VEC, "invalid", name + ".json"), d)
    if real is not None:
        with open(os.path.join(VEC, "SOURCES.md"), "w") as f:
            f.write("# fabric-block vectors: sources\n\nRegenerate: `python3 tests/vectors/gen/fabric.py` "
                    "(reads the real blocks from a hyperledger/fabric git mirror).\n\n"
                    "Algorithm: %s protoutil/blockutils.go `ComputeBlockDataHash`, `BlockHeaderBytes`/`BlockHeaderHash`.\n"
                    "The real blocks 1..7 form a chain: each previous_hash equals the DER header hash of the block before, "
                    "computed by gen/fabric.py, so the header-hash rule is confirmed by Fabric's own data.\n\n" % FABRIC)
            f.write("\n".join(notes) + "\n")
            f.write("- not vectors (too large, protobuf Block files of 17-31 KB): orderer/common/cluster/testdata/mychannel.block, "
                    "orderer/common/cluster/testdata/block3.pb, orderer/consensus/etcdraft/testdata/etcdraftgenesis.block, "
                    "orderer/consensus/smartbft/testdata/mychannel.block; for each, sha256(concat(data)) == data_hash was checked.\n\n")
            for k in sorted(src):
                f.write("- `%s`: %s\n" % (k, src[k]))
    print("ok: %d valid, %d invalid" % (len(out), len(inv)))


def write(path, d):
    s = json.dumps(d, indent=1) + "\n"
    assert len(s) < 16000, (path, len(s))
    with open(path, "w") as f:
        f.write(s)


if __name__ == "__main__":
    main()
