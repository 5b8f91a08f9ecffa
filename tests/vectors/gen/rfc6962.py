#!/usr/bin/env python3
"""RFC 6962 / RFC 9162 Merkle tree test vectors for `rfc6962` and `rfc6962-consistency`.

Independent Python implementation of RFC 6962 section 2.1 (MTH, PATH, SUBPROOF) and of the
verification algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2.  Every emitted valid vector
is checked to verify, every invalid one to be rejected, and the published values of the
Certificate Transparency test set (transparency-dev/merkle cmd/proofgen/main.go, originally
certificate-transparency merkle_tree_test.cc) are asserted before anything is written.

Usage: python3 tests/vectors/gen/rfc6962.py   (writes tests/vectors/rfc6962{,-consistency}/)
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VEC = os.path.dirname(HERE)


def sha256(b):
    return hashlib.sha256(b).digest()


def leaf_hash(d):
    return sha256(b"\x00" + d)


def node_hash(l, r):
    return sha256(b"\x01" + l + r)


def split(n):
    """Largest power of two strictly smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    def __init__(self, leaves):
        self.leaves = list(leaves)
        self.lh = [leaf_hash(d) for d in self.leaves]
        self.memo = {}

    def mth(self, lo, hi):
        """MTH(D[lo:hi])."""
        key = (lo, hi)
        if key in self.memo:
            return self.memo[key]
        n = hi - lo
        if n == 0:
            h = sha256(b"")
        elif n == 1:
            h = self.lh[lo]
        else:
            k = split(n)
            h = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
        self.memo[key] = h
        return h

    def root(self, n):
        return self.mth(0, n)

    def path(self, m, lo, hi):
        """PATH(m, D[lo:hi]) with m relative to lo; bottom-up sibling list."""
        n = hi - lo
        if n <= 1:
            return []
        k = split(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, b):
        """SUBPROOF(m, D[lo:hi], b) of RFC 6962 2.1.2."""
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = split(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def consistency(self, m, n):
        return self.subproof(m, 0, n, True)


# ---- verifiers (RFC 9162) -------------------------------------------------------------------

def verify_inclusion(leaf, index, size, root, proof):
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, old_root, new_root, proof):
    if m == 0 or m > n:
        return False  # old_size 0 is never emitted (its old root would be unchecked bytes)
    if m == n:
        return len(proof) == 0 and old_root == new_root
    if m & (m - 1) == 0:
        proof = [old_root] + list(proof)
    if not proof:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# ---- published CT test data -----------------------------------------------------------------

CT_LEAVES = [bytes.fromhex(h) for h in [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"]]
CT_ROOTS = [bytes.fromhex(h) for h in [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]]


def H(s):
    return bytes.fromhex(s)


# (leaf index 1-based as in the source table, tree size, proof)
CT_INCLUSION = [
    (1, 1, []),
    (1, 8, [H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (3, 3, [H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (2, 5, [H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, [H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]
SRC_CT = "CT test data [CT]"
CITE = ("[CT] = the Certificate Transparency test set as published in transparency-dev/merkle "
        "commit 417fb0c314750d94e53942e9f92e79b6d35915db, cmd/proofgen/main.go (tables `leaves`, `roots`, "
        "`inclusionProofs` (1-based leaf index), `consistencyProofs`), identical to its "
        "testdata/{inclusion,consistency}/N/happy-path.json (the same leaves and roots as the CT "
        "project's merkle tree tests; that origin was not re-checked here). The 8 roots are asserted by gen/rfc6962.py; every published inclusion "
        "path ((0,1),(0,8),(5,8),(2,3),(1,5), 0-based) and consistency proof (1->1, 1->8, 6->8, 2->5, "
        "6->7) is asserted equal to the generated one. Other (index,size)/(old,new) pairs are generated "
        "by the same code over the same leaves and roots.")


def hx(b):
    return "0x" + b.hex()


def inc_doc(leaf, index, size, root, proof):
    return {"format": "rfc6962", "leaf": hx(leaf), "index": index, "tree_size": size,
            "root": hx(root), "proof": [hx(p) for p in proof]}


def con_doc(m, n, r1, r2, proof):
    return {"format": "rfc6962-consistency", "old_size": m, "new_size": n,
            "old_root": hx(r1), "new_root": hx(r2), "proof": [hx(p) for p in proof]}


def check_doc(d):
    un = lambda s: bytes.fromhex(s[2:])
    if d["format"] == "rfc6962":
        return verify_inclusion(un(d["leaf"]), d["index"], d["tree_size"], un(d["root"]),
                                [un(p) for p in d["proof"]])
    return verify_consistency(d["old_size"], d["new_size"], un(d["old_root"]), un(d["new_root"]),
                              [un(p) for p in d["proof"]])


def tamper_ok(d):
    """Every single-byte flip (0x01, 0x80) of every hex field must be rejected."""
    for k, v in d.items():
        if k == "format":
            continue
        fields = [(k, None, v)] if isinstance(v, str) else (
            [(k, i, x) for i, x in enumerate(v)] if isinstance(v, list) else [])
        for key, i, s in fields:
            b = bytearray(bytes.fromhex(s[2:]))
            for j in range(len(b)):
                for mask in (0x01, 0x80):
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


def main():
    ct = Tree(CT_LEAVES)
    # published roots
    for n in range(1, 9):
        assert ct.root(n) == CT_ROOTS[n - 1], n
    for idx1, n, proof in CT_INCLUSION:
        assert ct.path(idx1 - 1, 0, n) == proof, (idx1, n)
    for m, n, proof in CT_CONSISTENCY:
        assert ct.consistency(m, n) == proof, (m, n)
    pub_inc = {(i - 1, n) for i, n, _ in CT_INCLUSION}
    pub_con = {(m, n) for m, n, _ in CT_CONSISTENCY}

    out = {"rfc6962": {}, "rfc6962-consistency": {}}
    inv = {"rfc6962": {}, "rfc6962-consistency": {}}
    src = {"rfc6962": {}, "rfc6962-consistency": {}}

    def put(fmt, name, doc, source, valid=True):
        (out if valid else inv)[fmt][name] = doc
        src[fmt][("invalid/" if not valid else "") + name + ".json"] = source

    for n in range(1, 9):
        for i in range(n):
            d = inc_doc(CT_LEAVES[i], i, n, ct.root(n), ct.path(i, 0, n))
            s = ("CT leaves/roots; proof from gen/rfc6962.py"
                 + ("; proof equals the published one" if (i, n) in pub_inc else ""))
            put("rfc6962", "ct-size%d-index%d" % (n, i), d, SRC_CT + " -- " + s)
    for n in range(1, 9):
        for m in range(1, n + 1):
            d = con_doc(m, n, ct.root(m), ct.root(n), ct.consistency(m, n))
            s = ("CT roots; proof from gen/rfc6962.py"
                 + ("; proof equals the published one" if (m, n) in pub_con else ""))
            put("rfc6962-consistency", "ct-%d-to-%d" % (m, n), d, SRC_CT + " -- " + s)

    big = Tree([("meridian leaf %d" % i).encode() for i in range(1000)])
    GEN = "generated by gen/rfc6962.py: 1000 leaves, leaf i = ascii 'meridian leaf <i>'"
    for i in (0, 1, 511, 512, 767, 998, 999):
        put("rfc6962", "gen1000-index%d" % i,
            inc_doc(big.leaves[i], i, 1000, big.root(1000), big.path(i, 0, 1000)), GEN)
    for m in (1, 300, 512, 999):
        put("rfc6962-consistency", "gen-%d-to-1000" % m,
            con_doc(m, 1000, big.root(m), big.root(1000), big.consistency(m, 1000)), GEN)

    # ---- false claims ----
    r8 = ct.root(8)
    p58 = ct.path(5, 0, 8)
    I = "false claim derived from CT vector: "
    put("rfc6962", "wrong-root", inc_doc(CT_LEAVES[5], 5, 8, ct.root(7), p58), I + "root of size 7", False)
    put("rfc6962", "wrong-index", inc_doc(CT_LEAVES[5], 4, 8, r8, p58), I + "index 4 with index 5's proof", False)
    put("rfc6962", "wrong-index-same-leaf-other-pos", inc_doc(CT_LEAVES[5], 7, 8, r8, p58), I + "index 7", False)
    put("rfc6962", "wrong-size", inc_doc(CT_LEAVES[5], 5, 6, r8, p58), I + "tree_size 6", False)
    put("rfc6962", "wrong-size-larger", inc_doc(CT_LEAVES[5], 5, 9, r8, p58), I + "tree_size 9", False)
    put("rfc6962", "index-not-below-size", inc_doc(CT_LEAVES[5], 8, 8, r8, p58), I + "index == tree_size", False)
    put("rfc6962", "wrong-leaf", inc_doc(CT_LEAVES[4], 5, 8, r8, p58), I + "leaf 4's data at index 5", False)
    put("rfc6962", "swapped-proof-order", inc_doc(CT_LEAVES[5], 5, 8, r8, list(reversed(p58))), I + "proof reversed", False)
    put("rfc6962", "truncated-proof", inc_doc(CT_LEAVES[5], 5, 8, r8, p58[:-1]), I + "last sibling dropped", False)
    put("rfc6962", "extra-proof-element", inc_doc(CT_LEAVES[5], 5, 8, r8, p58 + [r8]), I + "extra sibling", False)
    put("rfc6962", "leaf-hash-as-leaf", inc_doc(leaf_hash(CT_LEAVES[5]), 5, 8, r8, p58), I + "leaf hash given instead of leaf data", False)
    put("rfc6962", "size1-wrong-root", inc_doc(CT_LEAVES[0], 0, 1, ct.root(2), []), I + "size 1, root of size 2", False)
    put("rfc6962", "size1-with-proof", inc_doc(CT_LEAVES[0], 0, 1, ct.root(1), [ct.root(1)]), I + "size 1 with a proof element", False)
    # the odd last leaf of size 7 (index 6): sibling side matters
    p67 = ct.path(6, 0, 7)
    put("rfc6962", "last-leaf-as-second-to-last", inc_doc(CT_LEAVES[6], 5, 7, ct.root(7), p67), I + "index 5 with index 6's proof (size 7)", False)
    # no-duplication check: a padded/duplicated tree's root is not accepted
    dup7 = node_hash(ct.mth(0, 4), node_hash(ct.mth(4, 6), node_hash(ct.lh[6], ct.lh[6])))
    put("rfc6962", "duplicated-last-node-root", inc_doc(CT_LEAVES[6], 6, 7, dup7, [ct.lh[6]] + p67), I + "root of a tree that duplicates the odd last node (not RFC 6962)", False)
    bp = big.path(512, 0, 1000)
    put("rfc6962", "gen1000-wrong-index", inc_doc(big.leaves[512], 513, 1000, big.root(1000), bp), "gen/rfc6962.py 1000-leaf tree, index off by one", False)
    put("rfc6962", "gen1000-wrong-size", inc_doc(big.leaves[512], 512, 513, big.root(1000), bp), "gen/rfc6962.py 1000-leaf tree, size 513 claimed", False)

    C = "false claim derived from CT vector: "
    c68 = ct.consistency(6, 8)
    put("rfc6962-consistency", "wrong-old-root", con_doc(6, 8, ct.root(5), r8, c68), C + "old_root of size 5", False)
    put("rfc6962-consistency", "wrong-new-root", con_doc(6, 8, ct.root(6), ct.root(7), c68), C + "new_root of size 7", False)
    put("rfc6962-consistency", "swapped-roots", con_doc(6, 8, r8, ct.root(6), c68), C + "roots swapped", False)
    put("rfc6962-consistency", "wrong-old-size", con_doc(5, 8, ct.root(6), r8, c68), C + "old_size 5", False)
    put("rfc6962-consistency", "wrong-new-size", con_doc(6, 9, ct.root(6), r8, c68), C + "new_size 9", False)
    put("rfc6962-consistency", "old-larger-than-new", con_doc(8, 6, r8, ct.root(6), c68), C + "old_size > new_size", False)
    put("rfc6962-consistency", "truncated-proof", con_doc(6, 8, ct.root(6), r8, c68[:-1]), C + "last node dropped", False)
    put("rfc6962-consistency", "extra-proof-element", con_doc(6, 8, ct.root(6), r8, c68 + [r8]), C + "extra node", False)
    put("rfc6962-consistency", "reordered-proof", con_doc(6, 8, ct.root(6), r8, [c68[1], c68[0], c68[2]]), C + "first two nodes swapped", False)
    c48 = ct.consistency(4, 8)
    put("rfc6962-consistency", "pow2-old-root-prepended", con_doc(4, 8, ct.root(4), r8, [ct.root(4)] + c48), C + "old_size 4 with old_root also in proof", False)
    put("rfc6962-consistency", "pow2-wrong-old-root", con_doc(4, 8, ct.root(3), r8, c48), C + "old_size 4, old_root of size 3", False)
    put("rfc6962-consistency", "equal-sizes-different-roots", con_doc(8, 8, ct.root(7), r8, []), C + "8->8 with different roots", False)
    put("rfc6962-consistency", "equal-sizes-nonempty-proof", con_doc(8, 8, r8, r8, [r8]), C + "8->8 with a non-empty proof", False)
    put("rfc6962-consistency", "inclusion-proof-as-consistency", con_doc(1, 8, ct.root(1), r8, ct.path(1, 0, 8)), C + "1->8 given leaf 1's inclusion path", False)
    put("rfc6962-consistency", "gen-300-to-1000-wrong-old-size", con_doc(301, 1000, big.root(300), big.root(1000), big.consistency(300, 1000)), "gen/rfc6962.py 1000-leaf tree, old_size 301 claimed", False)

    # ---- self-check and write ----
    for fmt in out:
        for name, d in out[fmt].items():
            assert check_doc(d), (fmt, name)
            assert tamper_ok(d), ("tamper accepted", fmt, name)
        for name, d in inv[fmt].items():
            assert not check_doc(d), ("invalid accepted", fmt, name)
    for fmt in out:
        base = os.path.join(VEC, fmt)
        os.makedirs(os.path.join(base, "invalid"), exist_ok=True)
        for name, d in out[fmt].items():
            write(os.path.join(base, name + ".json"), d)
        for name, d in inv[fmt].items():
            write(os.path.join(base, "invalid", name + ".json"), d)
        with open(os.path.join(base, "SOURCES.md"), "w") as f:
            f.write("# %s vectors: sources\n\nRegenerate: `python3 tests/vectors/gen/rfc6962.py`.\n\n%s\n\n" % (fmt, CITE))
            for k in sorted(src[fmt]):
                f.write("- `%s`: %s\n" % (k, src[fmt][k]))
    print("ok: %d+%d inclusion, %d+%d consistency" % (
        len(out["rfc6962"]), len(inv["rfc6962"]), len(out["rfc6962-consistency"]), len(inv["rfc6962-consistency"])))


def write(path, d):
    s = json.dumps(d, indent=1) + "\n"
    assert len(s) < 16000, path
    with open(path, "w") as f:
        f.write(s)


if __name__ == "__main__":
    main()
