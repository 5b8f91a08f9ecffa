#!/usr/bin/env python3
"""EOSIO merkle test vectors for `eosio-legacy` and `eosio-savanna`.

Independent Python reimplementation of:
  * legacy:  AntelopeIO/spring libraries/chain/merkle.cpp `canonical_merkle` @7580c779 (the Leap
             algorithm, inherited from EOSIO `merkle()`), now merkle_legacy.hpp
             `calculate_merkle_legacy` @17ed17f6: SHA-256; while >1 nodes: an odd level pushes a copy
             of its last node; parent = sha256(canonL(l) || canonR(r)), canonL clears and canonR sets
             bit 0x80 of byte 0 (`_hash[0] &= ~0x80` on a little-endian uint64).
  * savanna: spring libraries/chain/include/eosio/chain/merkle.hpp `calculate_merkle` @17ed17f6:
             size<=1 -> the node (or zero); mid = bit_floor(size); if size is a power of two split it
             in halves, else root = sha256(pow2_root(first mid) || calculate_merkle(rest)).
The unit test unittests/merkle_tree_tests.cpp (@17ed17f6) builds its expectations from
sha256("Node1")..sha256("Node9") with explicit formulas; those formulas are transcribed below and
asserted (they carry no hex constants).

Proof forms (Meridian contract, PROOFS.md):
  legacy  proof = siblings bottom-up, each canonicalised for its side (right sibling: bit set).
  savanna proof = siblings bottom-up; a node with no sibling at a level rises and takes no element.

Usage: python3 tests/vectors/gen/eosio.py
"""
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
VEC = os.path.dirname(HERE)


def sha256(b):
    return hashlib.sha256(b).digest()


def canon_l(h):
    return bytes([h[0] & 0x7F]) + h[1:]


def canon_r(h):
    return bytes([h[0] | 0x80]) + h[1:]


def is_right(h):
    return bool(h[0] & 0x80)


def hash_l(a, b):
    return sha256(canon_l(a) + canon_r(b))


def hash_c(a, b):
    return sha256(a + b)


# ---- legacy -------------------------------------------------------------------------------

def legacy_levels(ids):
    """All levels, bottom first, each after padding (odd -> last duplicated)."""
    levels = []
    ids = list(ids)
    while len(ids) > 1:
        if len(ids) % 2:
            ids.append(ids[-1])
        levels.append(ids)
        ids = [hash_l(ids[2 * i], ids[2 * i + 1]) for i in range(len(ids) // 2)]
    levels.append(ids)
    return levels


def legacy_root(ids):
    if not ids:
        return b"\0" * 32
    return legacy_levels(ids)[-1][0]


def legacy_proof(ids, index):
    """Returns (proof, duplicated) where duplicated says some level paired the node with its copy."""
    proof, dup = [], False
    levels = legacy_levels(ids)
    for lvl in levels[:-1]:
        sib = index ^ 1
        s = lvl[sib]
        if s == lvl[index]:
            dup = True
        proof.append(canon_r(s) if sib > index else canon_l(s))
        index //= 2
    return proof, dup


def legacy_verify(leaf, root, proof):
    cur = leaf
    for s in proof:
        cur = hash_l(cur, s) if is_right(s) else hash_l(s, cur)
    return cur == root


# ---- savanna ------------------------------------------------------------------------------

def bit_floor(n):
    return 1 << (n.bit_length() - 1)


def savanna_root(ids):
    n = len(ids)
    if n <= 1:
        return ids[0] if n else b"\0" * 32
    mid = bit_floor(n)
    if mid == n:
        mid = n // 2
    return hash_c(savanna_root(ids[:mid]), savanna_root(ids[mid:]))


def savanna_proof(ids, index):
    n = len(ids)
    if n <= 1:
        return []
    mid = bit_floor(n)
    if mid == n:
        mid = n // 2
    if index < mid:
        return savanna_proof(ids[:mid], index) + [savanna_root(ids[mid:])]
    return savanna_proof(ids[mid:], index - mid) + [savanna_root(ids[:mid])]


def savanna_verify(leaf, index, count, root, proof):
    """Walk the split points top-down to learn the side at each level, then hash bottom-up."""
    if index >= count:
        return False
    sides = []  # True: our node is the left child at that level (top-down)
    lo, n, i = 0, count, index
    while n > 1:
        mid = bit_floor(n)
        if mid == n:
            mid = n // 2
        if i < mid:
            sides.append(True)
            n = mid
        else:
            sides.append(False)
            i -= mid
            n -= mid
    if len(sides) != len(proof):
        return False
    cur = leaf
    for left, s in zip(reversed(sides), proof):
        cur = hash_c(cur, s) if left else hash_c(s, cur)
    return cur == root


# ---- documents ----------------------------------------------------------------------------

def hx(b):
    return "0x" + b.hex()


def un(s):
    return bytes.fromhex(s[2:])


def leg_doc(leaf, root, proof):
    return {"format": "eosio-legacy", "leaf": hx(leaf), "root": hx(root), "proof": [hx(p) for p in proof]}


def sav_doc(leaf, index, count, root, proof):
    return {"format": "eosio-savanna", "leaf": hx(leaf), "index": index, "count": count,
            "root": hx(root), "proof": [hx(p) for p in proof]}


def check_doc(d):
    if d["format"] == "eosio-legacy":
        return legacy_verify(un(d["leaf"]), un(d["root"]), [un(p) for p in d["proof"]])
    return savanna_verify(un(d["leaf"]), d["index"], d["count"], un(d["root"]), [un(p) for p in d["proof"]])


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
                    if d["format"] == "eosio-legacy" and key == "leaf" and j == 0 and mask == 0x80:
                        continue  # the chain overwrites this bit (suite exception)
                    b2 = bytearray(b)
                    b2[j] ^= mask
                    t = json.loads(json.dumps(d))
                    if i is None:
                        t[key] = hx(bytes(b2))
                    else:
                        t[key][i] = hx(bytes(b2))
                    if check_doc(t):
                        return False
    return True


def node(s):
    return sha256(s.encode())


def check_spring_unit_test_formulas():
    """Transcription of unittests/merkle_tree_tests.cpp multiple_appends_legacy / multiple_appends."""
    n = [None] + [node("Node%d" % i) for i in range(1, 10)]
    L, C = hash_l, hash_c
    exp_l = {
        1: n[1], 2: L(n[1], n[2]), 3: L(L(n[1], n[2]), L(n[3], n[3])),
        4: L(L(n[1], n[2]), L(n[3], n[4])),
        5: L(L(L(n[1], n[2]), L(n[3], n[4])), L(L(n[5], n[5]), L(n[5], n[5]))),
        6: L(L(L(n[1], n[2]), L(n[3], n[4])), L(L(n[5], n[6]), L(n[5], n[6]))),
        7: L(L(L(n[1], n[2]), L(n[3], n[4])), L(L(n[5], n[6]), L(n[7], n[7]))),
        8: L(L(L(n[1], n[2]), L(n[3], n[4])), L(L(n[5], n[6]), L(n[7], n[8]))),
        9: L(L(L(L(n[1], n[2]), L(n[3], n[4])), L(L(n[5], n[6]), L(n[7], n[8]))),
             L(L(L(n[9], n[9]), L(n[9], n[9])), L(L(n[9], n[9]), L(n[9], n[9])))),
    }
    f4 = C(C(n[1], n[2]), C(n[3], n[4]))
    nx4 = C(C(n[5], n[6]), C(n[7], n[8]))
    exp_s = {
        1: n[1], 2: C(n[1], n[2]), 3: C(C(n[1], n[2]), n[3]), 4: f4, 5: C(f4, n[5]),
        6: C(f4, C(n[5], n[6])), 7: C(f4, C(C(n[5], n[6]), n[7])), 8: C(f4, nx4),
        9: C(C(f4, nx4), n[9]),
    }
    for k in range(1, 10):
        assert legacy_root(n[1:k + 1]) == exp_l[k], k
        assert savanna_root(n[1:k + 1]) == exp_s[k], k
    return n


def eos_block1_id():
    """EOS mainnet block 1 (get_block JSON as published in several public repositories):
    timestamp 2018-06-08T08:08:08.500, producer "", confirmed 1, previous 0, transaction_mroot 0,
    action_mroot aca376f2... (the chain id), schedule_version 0, new_producers null, no extensions.
    block_header::calculate_id (spring libraries/chain/block_header.cpp): sha256(fc::raw header),
    first 4 bytes replaced by the block number big-endian."""
    import struct
    slot = (1528445288500 - 946684800000) // 500  # block_timestamp_type: 500 ms slots since 2000-01-01
    hdr = (struct.pack("<IQH", slot, 0, 1) + bytes(32) + bytes(32)
           + bytes.fromhex("aca376f206b8fc25a6ed44dbdc66547c36c6c33e3a119ffbeaef943642f0e906")
           + struct.pack("<I", 0) + b"\0" + b"\0")
    bid = struct.pack(">I", 1) + sha256(hdr)[4:]
    assert bid.hex() == "00000001405147477ab2f5f51cda427b638191c66d2c59aa392d5c2c98076cb0"
    return hdr, bid


SPRING = "AntelopeIO/spring@17ed17f6826409a998332b94074dace2cb1fdb47"
UT = SPRING + " unittests/merkle_tree_tests.cpp"


def main():
    n = check_spring_unit_test_formulas()
    out = {"eosio-legacy": {}, "eosio-savanna": {}}
    inv = {"eosio-legacy": {}, "eosio-savanna": {}}
    src = {"eosio-legacy": {}, "eosio-savanna": {}}
    skipped = []

    def put(fmt, name, doc, source, valid=True):
        (out if valid else inv)[fmt][name] = doc
        src[fmt][("invalid/" if not valid else "") + name + ".json"] = source

    # Spring unit test leaves Node1..Node9, trees of 1..9 (roots asserted against the test's formulas)
    trees = [("ut", k, n[1:k + 1], "leaves sha256(\"Node1\")..sha256(\"Node%d\") as in %s (root equals the test's formula for calculate_merkle%s)") for k in (1, 2, 3, 5, 8, 9)]
    gen = [("gen", k, [node("Node%d" % i) for i in range(k)],
            "generated by gen/eosio.py: leaves sha256(\"Node0\")..sha256(\"Node%d\") (create_test_digests of %s)")
           for k in (13, 100)]
    for tag, k, ids, s in trees + gen:
        idxs = range(k) if k <= 13 else (0, 1, 31, 63, 64, 95, 96, 98, 99)
        lr, sr = legacy_root(ids), savanna_root(ids)
        for i in idxs:
            p, dup = legacy_proof(ids, i)
            nm = "%s-%d-leaf%d" % (tag, k, i)
            if dup:
                skipped.append((k, i))
            else:
                put("eosio-legacy", nm, leg_doc(ids[i], lr, p),
                    s % ((k if tag == "ut" else k - 1), UT, "_legacy") if tag == "ut" else s % (k - 1, UT))
            put("eosio-savanna", nm, sav_doc(ids[i], i, k, sr, savanna_proof(ids, i)),
                s % (k, UT, "") if tag == "ut" else s % (k - 1, UT))

    # ---- false claims ----
    ids = [node("Node%d" % i) for i in range(13)]
    lr, sr = legacy_root(ids), savanna_root(ids)
    p5, _ = legacy_proof(ids, 5)
    G = "false claim, gen/eosio.py 13-leaf tree: "
    put("eosio-legacy", "wrong-root", leg_doc(ids[5], legacy_root(ids[:12]), p5), G + "root of the first 12 leaves", False)
    put("eosio-legacy", "savanna-root", leg_doc(ids[5], sr, p5), G + "Savanna root claimed", False)
    put("eosio-legacy", "wrong-leaf", leg_doc(ids[4], lr, p5), G + "leaf 4 with leaf 5's proof", False)
    put("eosio-legacy", "sibling-side-flipped", leg_doc(ids[5], lr, [canon_r(p5[0]) if not is_right(p5[0]) else canon_l(p5[0])] + p5[1:]), G + "first sibling's side bit flipped", False)
    put("eosio-legacy", "all-sides-flipped", leg_doc(ids[5], lr, [bytes([p[0] ^ 0x80]) + p[1:] for p in p5]), G + "every side bit flipped", False)
    put("eosio-legacy", "reordered-proof", leg_doc(ids[5], lr, [p5[1], p5[0]] + p5[2:]), G + "first two siblings swapped", False)
    put("eosio-legacy", "truncated-proof", leg_doc(ids[5], lr, p5[:-1]), G + "top sibling dropped", False)
    put("eosio-legacy", "extra-proof-element", leg_doc(ids[5], lr, p5 + [canon_r(lr)]), G + "extra sibling", False)
    put("eosio-legacy", "uncanonicalised-siblings", leg_doc(ids[5], lr, [legacy_levels(ids)[l][(5 >> l) ^ 1] for l in range(len(p5))]), G + "raw sibling values (their own top bits, not side flags)", False)
    put("eosio-legacy", "single-leaf-wrong-root", leg_doc(ids[0], ids[1], []), G + "1-leaf tree, root = another leaf", False)
    put("eosio-legacy", "single-leaf-canonicalised-root", leg_doc(canon_l(ids[2]) if is_right(ids[2]) else canon_r(ids[2]), ids[2], []), G + "1-leaf tree: root is the leaf itself, not canonicalised (leaf given with its top bit changed)", False)

    s5 = savanna_proof(ids, 5)
    put("eosio-savanna", "wrong-root", sav_doc(ids[5], 5, 13, savanna_root(ids[:12]), s5), G + "root of the first 12 leaves", False)
    put("eosio-savanna", "legacy-root", sav_doc(ids[5], 5, 13, lr, s5), G + "legacy root claimed", False)
    put("eosio-savanna", "wrong-index", sav_doc(ids[5], 4, 13, sr, s5), G + "index 4 with leaf 5's proof", False)
    put("eosio-savanna", "index-not-below-count", sav_doc(ids[5], 13, 13, sr, s5), G + "index == count", False)
    put("eosio-savanna", "wrong-count", sav_doc(ids[5], 5, 6, sr, s5), G + "count 6", False)
    put("eosio-savanna", "wrong-count-larger", sav_doc(ids[5], 5, 17, sr, s5), G + "count 17", False)
    put("eosio-savanna", "reversed-proof", sav_doc(ids[5], 5, 13, sr, list(reversed(s5))), G + "proof top-down", False)
    put("eosio-savanna", "truncated-proof", sav_doc(ids[5], 5, 13, sr, s5[:-1]), G + "top sibling dropped", False)
    put("eosio-savanna", "wrong-leaf", sav_doc(ids[4], 5, 13, sr, s5), G + "leaf 4 at index 5", False)
    s12 = savanna_proof(ids, 12)
    put("eosio-savanna", "lone-node-given-sibling", sav_doc(ids[12], 12, 13, hash_c(savanna_root(ids[:8]), hash_c(savanna_root(ids[8:12]), hash_c(ids[12], ids[12]))), [ids[12]] + s12), G + "last leaf duplicated as in legacy (not Savanna)", False)
    put("eosio-savanna", "last-leaf-wrong-index", sav_doc(ids[12], 11, 13, sr, s12), G + "leaf 12's proof at index 11", False)
    put("eosio-savanna", "single-leaf-wrong-root", sav_doc(ids[0], 0, 1, ids[1], []), G + "1-leaf tree, root = another leaf", False)
    put("eosio-savanna", "single-leaf-with-proof", sav_doc(ids[0], 0, 1, ids[0], [ids[0]]), G + "1-leaf tree with a proof element", False)

    for fmt in out:
        for name, d in out[fmt].items():
            assert check_doc(d), (fmt, name)
            assert tamper_ok(d), ("tamper accepted", fmt, name)
        for name, d in inv[fmt].items():
            assert not check_doc(d), ("invalid accepted", fmt, name)
    # the skipped legacy leaves really are tamper-insensitive on a sibling's side bit
    for k, i in skipped:
        ids_k = n[1:k + 1] if k <= 9 else [node("Node%d" % j) for j in range(k)]
        p, _ = legacy_proof(ids_k, i)
        assert not tamper_ok(leg_doc(ids_k[i], legacy_root(ids_k), p))

    hdr, bid = eos_block1_id()
    blockid = ("Block id example (no vector format): EOS mainnet block 1, header fields as returned by get_block "
               "(timestamp 2018-06-08T08:08:08.500, producer \"\", confirmed 1, previous/transaction_mroot zero, "
               "action_mroot aca376f2...0e906, schedule_version 0, no new_producers, no extensions); fc::raw header bytes "
               "`%s`, sha256 = `%s`; with the first 4 bytes replaced by the block number (BE) this is the published id "
               "`%s` (block_header::calculate_id, %s libraries/chain/block_header.cpp). Asserted by gen/eosio.py.\n"
               % (hdr.hex(), sha256(hdr).hex(), bid.hex(), SPRING))
    notes = {
        "eosio-legacy": (
            "Algorithm: %s libraries/chain/include/eosio/chain/merkle_legacy.hpp `calculate_merkle_legacy` "
            "(= libraries/chain/merkle.cpp `canonical_merkle`/make_canonical_left/right at AntelopeIO/spring@7580c7793707b77b30ae5925a3005cfb1252a433, "
            "whose comment says the side bit spares proofs from indicating left/right). "
            "No hex constants exist in the Spring unit test; its formulas (multiple_appends_legacy, trees of 1..9) are asserted by gen/eosio.py.\n\n"
            "Not emitted (valid, but a flip of bit 0x80 of a sibling's byte 0 cannot change the root, because "
            "that sibling is the node's own duplicate): %s (tree size, leaf index).\n\n%s" % (SPRING, ", ".join("(%d,%d)" % x for x in skipped), blockid)),
        "eosio-savanna": (
            "Algorithm: %s libraries/chain/include/eosio/chain/merkle.hpp `calculate_merkle` (bit_floor split). "
            "No hex constants exist in the Spring unit test; its formulas (multiple_appends, trees of 1..9) are asserted by gen/eosio.py.\n\n%s" % (SPRING, blockid)),
    }
    for fmt in out:
        base = os.path.join(VEC, fmt)
        os.makedirs(os.path.join(base, "invalid"), exist_ok=True)
        for name, d in out[fmt].items():
            write(os.path.join(base, name + ".json"), d)
        for name, d in inv[fmt].items():
            write(os.path.join(base, "invalid", name + ".json"), d)
        with open(os.path.join(base, "SOURCES.md"), "w") as f:
            f.write("# %s vectors: sources\n\nRegenerate: `python3 tests/vectors/gen/eosio.py`.\n\n%s\n" % (fmt, notes[fmt]))
            for k in sorted(src[fmt]):
                f.write("- `%s`: %s\n" % (k, src[fmt][k]))
    print("ok:", {f: (len(out[f]), len(inv[f])) for f in out}, "legacy skipped:", skipped)


def write(path, d):
    s = json.dumps(d, indent=1) + "\n"
    assert len(s) < 16000, path
    with open(path, "w") as f:
        f.write(s)


if __name__ == "__main__":
    main()
