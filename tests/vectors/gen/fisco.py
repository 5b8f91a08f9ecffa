#!/usr/bin/env python3
"""Independent Python model of the FISCO BCOS transaction/receipt Merkle trees, and
generator of the `fisco-v2` / `fisco-v3` test vectors (see /work/shared/PROOFS.md).

Semantics modelled on (FISCO-BCOS/FISCO-BCOS, read, not copied):
  2.x  libdevcore/TrieHash2.cpp   getHash256 / getMerkleProof  (MAX_CHILD_COUNT = 16)
       libethcore/Block.cpp       calTransactionRootV2_2_0 / getReceiptAndHash (leaf = rlp(i) || hash)
       libblockchain/BlockChainImp.cpp  getHashNeed2Proof / getMerkleProof (left/right per level)
  3.x  bcos-crypto/bcos-crypto/merkle/Merkle.h  generateMerkle / generateMerkleProof /
       verifyMerkleProof (width 2); MerkleProof = std::vector<h256> (bcos-framework LedgerTypeDef.h),
       so on the wire each count element is 32 bytes: 4-byte big-endian count then 28 zero bytes.

Run:  python3 fisco.py   (writes ../fisco-v2 and ../fisco-v3, checking every vector first)
"""
import copy
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sm3 import sm3  # noqa: E402

try:
    from Crypto.Hash import keccak as _keccak  # pycryptodome
except ImportError:  # pragma: no cover
    from Cryptodome.Hash import keccak as _keccak


def keccak256(b: bytes) -> bytes:
    h = _keccak.new(digest_bits=256)
    h.update(b)
    return h.digest()


assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"

HASHES = {"keccak256": keccak256, "sm3": sm3}
ROOT = os.path.normpath(os.path.join(HERE, ".."))
MAX_FILE = 16 * 1024


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def unhx(s: str) -> bytes:
    if not s.startswith("0x"):
        raise ValueError("hex without 0x")
    return bytes.fromhex(s[2:])


def rlp_uint(i: int) -> bytes:
    """RLP of a non-negative integer, as dev::RLPStream << i."""
    if i == 0:
        return b"\x80"
    b = i.to_bytes((i.bit_length() + 7) // 8, "big")
    if len(b) == 1 and b[0] < 0x80:
        return b
    return bytes([0x80 + len(b)]) + b


def rlp_uint_decode_prefix(b: bytes):
    """Parse a canonical RLP unsigned integer at the start of b; return (value, length) or None."""
    if not b:
        return None
    x = b[0]
    if x < 0x80:
        return (x, 1) if x != 0 else None  # 0 must be encoded 0x80
    if x == 0x80:
        return (0, 1)
    n = x - 0x80
    if n > 8 or len(b) < 1 + n:
        return None
    v = b[1:1 + n]
    if v[0] == 0 or (n == 1 and v[0] < 0x80):
        return None  # non-canonical
    return int.from_bytes(v, "big"), 1 + n


# ----------------------------------------------------------------------------------------
# FISCO BCOS 2.x (>= v2.2.0): 16-ary tree over leaves rlp(i) || hash_i, plus a final hash.
# ----------------------------------------------------------------------------------------
W2 = 16


def v2_leaf(i: int, h: bytes) -> bytes:
    return rlp_uint(i) + h


def v2_levels(leaves, H):
    """All levels, bottom (raw leaf bytes) to top (single node), as getHash256 computes them."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        levels.append([H(b"".join(cur[g:g + W2])) for g in range(0, len(cur), W2)])
    return levels


def v2_root(hashes, H):
    leaves = [v2_leaf(i, h) for i, h in enumerate(hashes)]
    if not leaves:
        return H(b"")
    return H(v2_levels(leaves, H)[-1][0])  # the "final extra hash" over the top node


def v2_proof(hashes, index, H):
    """Proof levels as BlockChainImp::getMerkleProof emits them: one {left,right} per tree
    level (siblings in the leaf's group of <= 16), then {[],[]} for the final extra hash."""
    leaves = [v2_leaf(i, h) for i, h in enumerate(hashes)]
    levels = v2_levels(leaves, H)
    proof = []
    pos = index
    for lvl in levels[:-1]:
        g = pos - pos % W2
        grp = lvl[g:g + W2]
        k = pos - g
        proof.append({"left": [hx(x) for x in grp[:k]], "right": [hx(x) for x in grp[k + 1:]]})
        pos //= W2
    proof.append({"left": [], "right": []})
    return proof


def v2_verify(doc):
    """Strict verifier. Returns None if valid, else a reason string."""
    if set(doc) != {"format", "hash_alg", "index", "leaf_hash", "root", "proof"}:
        return "fields"
    if doc["format"] != "fisco-v2" or doc["hash_alg"] not in HASHES:
        return "format/hash_alg"
    H = HASHES[doc["hash_alg"]]
    index = doc["index"]
    if not isinstance(index, int) or isinstance(index, bool) or index < 0 or index >= 2 ** 32:
        return "index"
    leaf_hash, root = unhx(doc["leaf_hash"]), unhx(doc["root"])
    if len(leaf_hash) != 32 or len(root) != 32:
        return "hash length"
    proof = doc["proof"]
    if not isinstance(proof, list) or not proof:
        return "empty proof"
    for lv in proof:
        if not isinstance(lv, dict) or set(lv) != {"left", "right"}:
            return "level fields"
    if proof[-1]["left"] or proof[-1]["right"]:
        return "last level must be {left:[],right:[]} (final extra hash)"
    tree = proof[:-1]
    pos_sum, weight = 0, 1
    cur = rlp_uint(index) + leaf_hash
    for depth, lv in enumerate(tree):
        left = [unhx(x) for x in lv["left"]]
        right = [unhx(x) for x in lv["right"]]
        if len(left) + len(right) + 1 > W2:
            return "group wider than 16 at level %d" % depth
        if depth == 0:
            base = index - len(left)
            for m, sib in enumerate(left + [None] + right):
                if sib is None:
                    continue
                parsed = rlp_uint_decode_prefix(sib)
                if parsed is None or parsed[0] != base + m or len(sib) != parsed[1] + 32:
                    return "level-0 sibling %d is not rlp(%d)||hash32" % (m, base + m)
        else:
            if any(len(x) != 32 for x in left + right):
                return "level-%d sibling not 32 bytes" % depth
        pos_sum += len(left) * weight
        weight *= W2
        cur = H(b"".join(left) + cur + b"".join(right))
    if pos_sum != index:
        return "sibling counts put the leaf at %d, not %d" % (pos_sum, index)
    cur = H(cur)  # final extra hash
    if cur != root:
        return "root mismatch"
    return None


# ----------------------------------------------------------------------------------------
# FISCO BCOS 3.x: binary tree over the 32-byte hashes, lone node hashed alone, no final hash.
# ----------------------------------------------------------------------------------------
W3 = 2


def v3_count(n: int) -> bytes:
    return n.to_bytes(4, "big") + b"\x00" * 28


def v3_levels(hashes, H):
    levels = [list(hashes)]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        levels.append([H(b"".join(cur[g:g + W3])) for g in range(0, len(cur), W3)])
    return levels


def v3_root(hashes, H):
    return v3_levels(hashes, H)[-1][0]


def v3_proof(hashes, index, H):
    """As Merkle::generateMerkleProof: one leaf -> [leaf]; otherwise for every level below the
    root: count, then the <= 2 hashes of the aligned group containing the node."""
    if len(hashes) == 1:
        return [hx(hashes[0])]
    out = []
    pos = index
    for lvl in v3_levels(hashes, H)[:-1]:
        g = pos - pos % W3
        grp = lvl[g:g + W3]
        out.append(hx(v3_count(len(grp))))
        out.extend(hx(x) for x in grp)
        pos //= W3
    return out


def v3_verify(doc):
    if set(doc) != {"format", "hash_alg", "leaf_hash", "root", "proof"}:
        return "fields"
    if doc["format"] != "fisco-v3" or doc["hash_alg"] not in HASHES:
        return "format/hash_alg"
    H = HASHES[doc["hash_alg"]]
    leaf, root = unhx(doc["leaf_hash"]), unhx(doc["root"])
    if len(leaf) != 32 or len(root) != 32:
        return "hash length"
    proof = [unhx(x) for x in doc["proof"]]
    if not proof:
        return "empty proof"
    if any(len(x) != 32 for x in proof):
        return "proof element not 32 bytes"
    if len(proof) == 1:
        # C++ verifyMerkleProof ignores the single element; we require it to be the leaf.
        if proof[0] != leaf:
            return "single-element proof is not the leaf"
        return None if leaf == root else "root mismatch"
    cur, i = leaf, 0
    while i < len(proof):
        c = proof[i]
        if c[4:] != b"\x00" * 28:
            return "count element padding not zero"
        n = int.from_bytes(c[:4], "big")
        if n < 1 or n > W3:
            return "group size %d outside 1..2" % n
        grp = proof[i + 1:i + 1 + n]
        if len(grp) != n:
            return "group runs past the end"
        if cur not in grp:
            return "current hash not in group"
        cur = H(b"".join(grp))
        i += 1 + n
    return None if cur == root else "root mismatch"


def v2_lax(doc):
    """What a verifier that only folds hashes and checks sibling counts + the empty final level
    (no element-format or width checks) concludes: None = accepts."""
    H = HASHES[doc["hash_alg"]]
    proof = doc["proof"]
    if not proof or proof[-1]["left"] or proof[-1]["right"]:
        return "x"
    cur = rlp_uint(doc["index"]) + unhx(doc["leaf_hash"])
    for lv in proof:
        cur = H(b"".join(unhx(x) for x in lv["left"]) + cur + b"".join(unhx(x) for x in lv["right"]))
    pos = sum(len(lv["left"]) * W2 ** k for k, lv in enumerate(proof[:-1]))
    return None if cur == unhx(doc["root"]) and pos == doc["index"] else "x"


def v3_cpp(doc):
    """Merkle::verifyMerkleProof semantics (count = first 4 bytes, rest ignored; a one-element
    proof's content ignored; no width check). None = accepts."""
    H = HASHES[doc["hash_alg"]]
    p = [unhx(x) for x in doc["proof"]]
    cur = unhx(doc["leaf_hash"])
    if not p:
        return "x"
    if len(p) > 1:
        i = 0
        while i < len(p):
            n = int.from_bytes(p[i][:4], "big")
            g = p[i + 1:i + 1 + n]
            if len(g) != n or cur not in g:
                return "x"
            cur = H(b"".join(g))
            i += 1 + n
    return None if cur == unhx(doc["root"]) else "x"


# ----------------------------------------------------------------------------------------
# Vector emission
# ----------------------------------------------------------------------------------------
SOURCES = {"fisco-v2": [], "fisco-v3": []}
WRITTEN = set()


def emit(fmt, name, doc, valid, source):
    verify = v2_verify if fmt == "fisco-v2" else v3_verify
    reason = verify(doc)
    if valid and reason is not None:
        raise SystemExit("%s/%s should be valid but: %s" % (fmt, name, reason))
    if not valid and reason is None:
        raise SystemExit("%s/%s should be invalid but verifies" % (fmt, name))
    rel = ("" if valid else "invalid/") + name + ".json"
    path = os.path.join(ROOT, fmt, rel)
    text = json.dumps(doc, indent=1) + "\n"
    if len(text.encode()) >= MAX_FILE:
        raise SystemExit("%s too large" % path)
    assert path not in WRITTEN, path
    WRITTEN.add(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    note = ""
    if not valid:
        weak = v2_lax if fmt == "fisco-v2" else v3_cpp
        note = " — strict verifier rejects: " + reason
        if weak(doc) is None:
            note += " (a hash-fold-only / C++-equivalent verifier would ACCEPT this: the structural check is required)"
    SOURCES[fmt].append((rel, source + note))


def gen_hashes(tag, n, H):
    return [H(("meridian-%s-leaf-%d-of-%d" % (tag, i, n)).encode()) for i in range(n)]


def v2_doc(alg, index, leaf_hash, root, proof):
    return {"format": "fisco-v2", "hash_alg": alg, "index": index, "leaf_hash": hx(leaf_hash),
            "root": hx(root), "proof": proof}


def v3_doc(alg, leaf_hash, root, proof):
    return {"format": "fisco-v3", "hash_alg": alg, "leaf_hash": hx(leaf_hash), "root": hx(root),
            "proof": proof}


def pick(n):
    return sorted({0, n // 2, n - 1})


# -- real data from WeBank's documentation (FISCO-BCOS/FISCO-BCOS-DOC) --------------------
DOC_8C = {  # 2.x/docs/design/merkle_proof.md, getTransactionByHashWithProof example
    "index": 0x8C,
    "hash": "8ab2b200320671cab4862312d834dcfa8b7d74e18a647e9fd4324076542a6357",
    "txProof": [
        {"left": ["81800be7f26ba151d7a4706808edad0ba42fe83b58531e9ee75011fef30d4e566118",
                  "818105c837280e25ed26e3c185fe2c909f2aa021df122772b36af70ee5a9b3e45df0",
                  "8182649e6b2420ef2ab08358931000ef0b5b4a58c7df898d49249cc25a1f8afef63a",
                  "8183af3f8b5d63b3c98ea02ac0013a160dde06ffc1a4d0c3f7b16124d8e4e81cbabd",
                  "81848355dfbb711717d4173e54d17f9ba23fe4f18558eee9806ae7a9b4cb3b28af79",
                  "81858c894d870cdb930917006b6f11de907fd89cf1c825efc01e816f7c988792cce6",
                  "8186d851bc330fa5e5122cce8a1b2315989baf78736f2a48115a303ed3b569421e32",
                  "81875ac50f93440900a145119d9cd8aeab4dfbc5eff5fa2d5a826394fc244c822bfa",
                  "81889912e677ebc796aead4bcdbd15f0fc70c1adfedf67ca8d147d3a7e1322d1b410",
                  "8189138e33fb4e18bfd6a47940e8613cad120d34f7c8ca2901c02649290f092e6757",
                  "818a6f9dfc50e3053c3858b2ffa26085cce5ff78480209a8cb84b38f28a4cc953732",
                  "818b1f65fc5db96d74bbe2726b2ed94c074b6abd0e8cbd0b31d46d5f6b6b8a809a05"],
         "right": ["818de3a4d26bc038bc364bdebf4aaf80a21709d1fa2ac21d2da527fa7a70b8d6c89a",
                   "818ee380f8ea824a989f5354ee3d169100c23baab390471183c0c28f9090373b64f6",
                   "818f30d2fb70f7a2240403ac563b884aec7e7a4b9d0f35eeaadb790d5c28ba1667c4"]},
        {"left": ["54d76311eb6d04ef5050dc6b4d7123c19d480254697b1d4a3f4f1b40340e0211",
                  "d2324309fab418afcd1464422b6f52fa9fb914d97c7723e7f2ff94bcfc2ccf6f",
                  "48ce4d23e17cdda81df5a356419bd6ad96c621bb1bf23b80e46aeeee49d55264",
                  "3c84f5bab45be8a8d0067c6000eede4e44d646b1148612d55264faf9aa4983ff",
                  "4c8e80c9ca7e104325b8c31ca6644ccf075a4c950cae767c979284218b51807f",
                  "25873a13a821be1d99d3d7dea1fe575f827a42641527d515ad69c39eb36dae72",
                  "8ab68393bd9b08a631ecc124dc7b4ee6541e0599debf92506750d3846c071bcf",
                  "d498097ddd1404b6f80e88cd4e84c13ec1d39b6482ffc7014d4b9b84d149b99a"],
         "right": ["63cd6c8c4f7c3e34711b23866aa1f1a25c121757804d1534d1f4ae2845a1f00b",
                   "a1025cdf4b0fb375621a486929a5d63a7dd98a70c2c1455a38b75bada8c06d7b",
                   "2d7322ebf4fe8c5088945888151825860f0f90b1e68bef2f8f2d7b8f60896574",
                   "cda5f95b02c2fa12de2aa459f932a01095b41d3dbdad618d18ade4f5750c2f37",
                   "8ec46dd6ef3d8784d598529df711a7e18ab4cdebbdc959220806afa779033761",
                   "bb3379a814efb11f6f1c6472fd67e66725ac038e8563f019c7035a8097622ff9",
                   "9311fb5c9ae432243c5096b29e3551781fe801e82035e2e350c2850246de70c0"]},
        {"left": [],
         "right": ["1d462e3d09fb445e26408a525cda37660667001e4404ae187ff9a6b0960955a4",
                   "19d97826e27d99129ccd3ab39cd4b6e6c508b568e9007761c13dc27ef4bc032c",
                   "60e5b1c331d963a19b175a5d69cba14b792bbc5e089d06333c78fce738fcc7d4"]},
        {"left": [], "right": []},
    ],
    # Published in the same document (intermediate level hashes and the root).  The root is
    # printed with 63 hex digits there (one digit dropped); we check it as a prefix.
    "published_levels": ["cd9a95abaf830b3aed4c9d5f6dc71d7802baf03c42bc55bcb647d93e614e4592",
                         "1d77e6364520ebc619b3d9c7782428a0d45695f48baabad134b46dd65fcf1d39",
                         "ecbc0529c1961c18a0ea4381a235542c968af53ab682cd610b5a0bfedc22feef"],
    "published_root_63": "edf6863d1e53598e4d276854ce979155b299016bd61ef83160ab93a79a7b614",
}

DOC_32 = {  # 2.x/docs/api.md, getTransactionByHashWithProof example (no root published)
    "index": 0x32,
    "hash": "d2c12e211315ef09dbad53407bc820d062780232841534954f9c23ab11d8ab4c",
    "txProof": [
        {"left": ["30f0abfcf4ca152815548620e33d21fd0feaa7c78867791c751e57cb5aa38248c2",
                  "31a864156ca9841da8176738bb981d5da9102d9703746039b3e5407fa987e5183e"],
         "right": ["33d8078d7e71df3544f8845a9db35aa35b2638e8468a321423152e64b9004367b4",
                   "34343a4bce325ec8f6cf48517588830cd15f69b60a05598b78b03c3656d1fbf2f5",
                   "35ac231554047ce77c0b31cd1c469f1f39ebe23404fa8ff6cc7819ad83e2c029e7",
                   "361f6c588e650323e03afe6460dd89a9c061583e0d62c117ba64729d2c9d79317c",
                   "377606f79f3e08b1ba3759eceada7fde3584f01822467855aa6356652f2499c738",
                   "386722fe270659232c5572ba54ce23b474c85d8b709e7c08e85230afb1c155fe18",
                   "39a9441d668e5e09a5619c365577c8c31365f44a984bde04300d4dbba190330c0b",
                   "3a78a8c288120cbe612c24a33cce2731dd3a8fe6927d9ee25cb2350dba08a541f5",
                   "3bd9b67256e201b5736f6081f39f83bcb917261144384570bdbb8766586c3bb417",
                   "3c3158e5a82a1ac1ed41c4fd78d5be06bf79327f60b094895b886e7aae57cff375",
                   "3de9a4d98c5ae658ffe764fbfa81edfdd4774e01b35ccb42beacb67064a5457863",
                   "3e525e60c0f7eb935125f1156a692eb455ab4038c6b16390ce30937b0d1b314298",
                   "3f1600afe67dec2d21582b8c7b76a15e569371d736d7bfc7a96c0327d280b91dfc"]},
        {"left": ["3577673b86ad4d594d86941d731f17d1515f4669483aed091d49f279d677cb19",
                  "75603bfea5b44df4c41fbb99268364641896334f006af3a3f67edaa4b26477ca",
                  "1339d43c526f0f34d8a0f4fb3bb47b716fdfde8d35697be5992e0888e4d794c9"],
         "right": ["63c8e574fb2ef52e995427a8acaa72c27073dd8e37736add8dbf36be4f609ecb",
                   "e65353d911d6cc8ead3fad53ab24cab69a1e31df8397517b124f578ba908558d"]},
        {"left": [], "right": []},
    ],
}


def doc_levels_0x(proof):
    return [{"left": ["0x" + x for x in lv["left"]], "right": ["0x" + x for x in lv["right"]]}
            for lv in proof]


def fold_v2(index, leaf_hash, proof, H):
    cur = rlp_uint(index) + leaf_hash
    out = []
    for lv in proof:
        cur = H(b"".join(unhx(x) for x in lv["left"]) + cur + b"".join(unhx(x) for x in lv["right"]))
        out.append(cur)
    return out


def real_v2():
    H = keccak256
    # merkle_proof.md example
    d = DOC_8C
    proof = doc_levels_0x(d["txProof"])
    levels = fold_v2(d["index"], bytes.fromhex(d["hash"]), proof, H)
    assert [x.hex() for x in levels[:3]] == d["published_levels"], "doc levels mismatch"
    root = levels[-1]
    assert root.hex().startswith(d["published_root_63"])
    doc = v2_doc("keccak256", d["index"], bytes.fromhex(d["hash"]), root, proof)
    emit("fisco-v2", "webank-doc-merkle-proof-tx-140", doc, True,
         "REAL: FISCO-BCOS-DOC 2.x/docs/design/merkle_proof.md getTransactionByHashWithProof example "
         "(block 0x1b, tx 0x8ab2b200..., index 0x8c); keccak256 reproduces all three published "
         "intermediate hashes cd9a95ab.., 1d77e636.., ecbc0529.. exactly; the published root "
         "'edf6863d...a79a7b614' has only 63 hex digits and is a prefix of our root ...a79a7b6142")
    bad = copy.deepcopy(doc)
    bad["index"] = d["index"] + 1
    emit("fisco-v2", "webank-doc-wrong-index", bad, False,
         "REAL doc proof (merkle_proof.md) claimed at index 0x8d instead of 0x8c")
    bad = copy.deepcopy(doc)
    l0 = bad["proof"][0]
    l0["left"][-1], l0["right"][0] = l0["right"][0], l0["left"][-1]
    emit("fisco-v2", "webank-doc-swapped-siblings", bad, False,
         "REAL doc proof (merkle_proof.md) with level-0 left[-1] and right[0] swapped")
    bad = copy.deepcopy(doc)
    bad["proof"] = bad["proof"][:-1]
    emit("fisco-v2", "webank-doc-missing-final-hash", bad, False,
         "REAL doc proof (merkle_proof.md) with the final {left:[],right:[]} level removed")
    bad = copy.deepcopy(doc)
    bad["proof"].append({"left": [], "right": []})
    emit("fisco-v2", "webank-doc-extra-final-hash", bad, False,
         "REAL doc proof (merkle_proof.md) with a second final {left:[],right:[]} level")

    # api.md example: no root published anywhere; only internally consistent.
    d = DOC_32
    proof = doc_levels_0x(d["txProof"])
    root = fold_v2(d["index"], bytes.fromhex(d["hash"]), proof, H)[-1]
    doc = v2_doc("keccak256", d["index"], bytes.fromhex(d["hash"]), root, proof)
    emit("fisco-v2", "webank-api-tx-50", doc, True,
         "REAL proof data, COMPUTED root: FISCO-BCOS-DOC 2.x/docs/api.md getTransactionByHashWithProof "
         "example (block 0x5, tx 0xd2c12e21..., index 0x32). The docs publish no root for block 5; "
         "the root is our keccak256 fold (same chain/sender as merkle_proof.md, so keccak assumed). "
         "Checked only for internal consistency: sibling counts (2 left at level 0, 3 at level 1) and "
         "the rlp prefixes 0x30..0x3f of the level-0 siblings agree with index 50")


REAL_V3_RECEIPT = "f18d1984c7745a826e4b8d608b823534f1e44b273f75972e16cf2ac3ff313e14"
REAL_V3_TX = "51a375e5cf28b9c810734875c143d7456aa80911e02eab32a8b7ba1b789e5888"


def real_v3():
    h = bytes.fromhex(REAL_V3_RECEIPT)
    doc = v3_doc("keccak256", h, h, [hx(h)])
    emit("fisco-v3", "webank-doc-receipt-block2-single", doc, True,
         "REAL: FISCO-BCOS-DOC 3.x/zh_CN/docs/develop/api.md getTransactionReceipt example "
         "(txReceiptProof = [f18d1984...], receipt hash f18d1984...) checked against the "
         "getBlockByHash example in the same page (block 2, hash 0x2fbafbf7..., receiptsRoot "
         "0xf18d1984...): one receipt, root = leaf, proof = [leaf]. hash_alg not exercised (one leaf)")
    h = bytes.fromhex(REAL_V3_TX)
    doc = v3_doc("keccak256", h, h, [hx(h)])
    emit("fisco-v3", "webank-doc-tx-block26-single", doc, True,
         "REAL proof, root ASSUMED: FISCO-BCOS-DOC 3.x/zh_CN/docs/sdk/java_sdk/rpc_api.md getTransaction "
         "example (tx 0x51a375e5..., block 26, txProof = [51a375e5...]); no block-26 header is "
         "published; a one-element proof means a one-tx block, so root = leaf. hash_alg not exercised")
    other = bytes.fromhex(REAL_V3_TX)
    bad = v3_doc("keccak256", bytes.fromhex(REAL_V3_RECEIPT), bytes.fromhex(REAL_V3_RECEIPT), [hx(other)])
    emit("fisco-v3", "single-proof-not-leaf", bad, False,
         "block-2 receipt claim whose one-element proof is another hash (C++ verifyMerkleProof "
         "ignores a one-element proof's content; we must not)")


# -- generated --------------------------------------------------------------------------
def generated_v2():
    for alg, H in HASHES.items():
        for n in (1, 2, 16, 17, 100, 300):
            hashes = gen_hashes("fisco-v2-" + alg, n, H)
            root = v2_root(hashes, H)
            for i in pick(n):
                doc = v2_doc(alg, i, hashes[i], root, v2_proof(hashes, i, H))
                emit("fisco-v2", "gen-%s-n%d-i%d" % (alg, n, i), doc, True,
                     "GENERATED by gen/fisco.py: %d leaves, leaf %d, %s" % (n, i, alg))
        # invalid, from a 100-leaf tree
        n = 100
        hashes = gen_hashes("fisco-v2-" + alg, n, H)
        root = v2_root(hashes, H)
        i = 37
        good = v2_doc(alg, i, hashes[i], root, v2_proof(hashes, i, H))
        bad = copy.deepcopy(good)
        bad["root"] = hx(v2_root(hashes[:-1], H))
        emit("fisco-v2", "gen-%s-wrong-root" % alg, bad, False,
             "GENERATED: 100-leaf proof of leaf 37 against the root of the first 99 leaves")
        bad = copy.deepcopy(good)
        bad["index"] = 38
        emit("fisco-v2", "gen-%s-wrong-index" % alg, bad, False,
             "GENERATED: 100-leaf proof of leaf 37 claimed at index 38")
        bad = copy.deepcopy(good)
        bad["leaf_hash"] = hx(hashes[38])
        emit("fisco-v2", "gen-%s-wrong-leaf" % alg, bad, False,
             "GENERATED: 100-leaf proof of leaf 37 with leaf 38's hash")
        bad = copy.deepcopy(good)
        bad["proof"][1]["left"], bad["proof"][1]["right"] = bad["proof"][1]["right"], bad["proof"][1]["left"]
        emit("fisco-v2", "gen-%s-swapped-level1" % alg, bad, False,
             "GENERATED: 100-leaf proof of leaf 37 with level-1 left and right lists swapped")
        bad = copy.deepcopy(good)
        l0 = bad["proof"][0]["left"]
        l0[0], l0[1] = l0[1], l0[0]
        emit("fisco-v2", "gen-%s-swapped-within-left" % alg, bad, False,
             "GENERATED: 100-leaf proof of leaf 37 with two level-0 left siblings swapped")

        # hash-consistent forgeries that only the structural checks catch
        emit("fisco-v2", "gen-%s-misaligned-window" % alg, misaligned_window(alg, H), False,
             "GENERATED: hash-consistent with an honest 16-leaf root, counts agree with index, but "
             "leaf_hash is a misaligned 32-byte window of the level-0 preimage (re-split siblings)")
        emit("fisco-v2", "gen-%s-index-position-mismatch" % alg, index_mismatch(alg, H), False,
             "GENERATED: hash-consistent with a dishonest 16-leaf tree whose position-3 leaf carries "
             "rlp(5); claimed index 5 but sibling counts put it at 3")
        emit("fisco-v2", "gen-%s-group-wider-than-16" % alg, wide_group(alg, H), False,
             "GENERATED: hash-consistent with a dishonest tree whose level-0 group has 17 members")
        emit("fisco-v2", "gen-%s-no-final-extra-hash" % alg, no_final(alg, H), False,
             "GENERATED: 2 leaves, root = H(leaf0||leaf1) without the final extra hash and proof "
             "without the final empty level (hash-consistent)")


def misaligned_window(alg, H):
    hashes = gen_hashes("fisco-v2-window-" + alg, 16, H)
    leaves = [v2_leaf(i, h) for i, h in enumerate(hashes)]
    pre = b"".join(leaves)
    root = H(H(pre))
    bounds = set()
    acc = 0
    for lf in leaves:
        bounds.add(acc)
        acc += len(lf)
    for o in range(16, len(pre) - 33):
        b = pre[o]
        if o in bounds or not (1 <= b <= 15) or o < b:
            continue
        rest = pre[o + 33:]
        if len(rest) < 1:
            continue
        # left: b pieces covering pre[:o]; right: one piece
        cuts = [o * k // b for k in range(b + 1)]
        left = [pre[cuts[k]:cuts[k + 1]] for k in range(b)]
        if any(len(x) == 0 for x in left):
            continue
        proof = [{"left": [hx(x) for x in left], "right": [hx(rest)]}, {"left": [], "right": []}]
        doc = v2_doc(alg, b, pre[o + 1:o + 33], root, proof)
        # sanity: a lax verifier (hash + counts only) would accept it
        assert fold_v2(b, pre[o + 1:o + 33], proof, H)[-1] == root
        return doc
    raise SystemExit("no window found")


def index_mismatch(alg, H):
    hashes = gen_hashes("fisco-v2-swapidx-" + alg, 16, H)
    ids = list(range(16))
    ids[3], ids[5] = 5, 3
    leaves = [v2_leaf(ids[p], hashes[p]) for p in range(16)]
    root = H(H(b"".join(leaves)))
    proof = [{"left": [hx(x) for x in leaves[:3]], "right": [hx(x) for x in leaves[4:]]},
             {"left": [], "right": []}]
    return v2_doc(alg, 5, hashes[3], root, proof)


def wide_group(alg, H):
    hashes = gen_hashes("fisco-v2-wide-" + alg, 17, H)
    leaves = [v2_leaf(i, h) for i, h in enumerate(hashes)]
    root = H(H(b"".join(leaves)))
    i = 16
    proof = [{"left": [hx(x) for x in leaves[:i]], "right": []}, {"left": [], "right": []}]
    return v2_doc(alg, i, hashes[i], root, proof)


def no_final(alg, H):
    hashes = gen_hashes("fisco-v2-nofinal-" + alg, 2, H)
    leaves = [v2_leaf(i, h) for i, h in enumerate(hashes)]
    root = H(leaves[0] + leaves[1])
    proof = [{"left": [], "right": [hx(leaves[1])]}]
    return v2_doc(alg, 0, hashes[0], root, proof)


def generated_v3():
    for alg, H in HASHES.items():
        for n in (1, 2, 3, 7, 64):
            hashes = gen_hashes("fisco-v3-" + alg, n, H)
            root = v3_root(hashes, H)
            for i in pick(n):
                doc = v3_doc(alg, hashes[i], root, v3_proof(hashes, i, H))
                emit("fisco-v3", "gen-%s-n%d-i%d" % (alg, n, i), doc, True,
                     "GENERATED by gen/fisco.py: %d leaves, leaf %d, %s" % (n, i, alg))
        n = 7
        hashes = gen_hashes("fisco-v3-" + alg, n, H)
        root = v3_root(hashes, H)
        i = 2
        good = v3_doc(alg, hashes[i], root, v3_proof(hashes, i, H))
        bad = copy.deepcopy(good)
        bad["root"] = hx(v3_root(hashes[:-1], H))
        emit("fisco-v3", "gen-%s-wrong-root" % alg, bad, False,
             "GENERATED: 7-leaf proof of leaf 2 against the root of the first 6 leaves")
        bad = copy.deepcopy(good)
        bad["leaf_hash"] = hx(hashes[4])
        emit("fisco-v3", "gen-%s-leaf-not-in-group" % alg, bad, False,
             "GENERATED: 7-leaf proof of leaf 2 claimed for leaf 4 (not in the first group)")
        bad = copy.deepcopy(good)
        p = bad["proof"]
        p[1], p[2] = p[2], p[1]
        emit("fisco-v3", "gen-%s-swapped-siblings" % alg, bad, False,
             "GENERATED: 7-leaf proof of leaf 2 with the leaf group's two hashes swapped")
        bad = copy.deepcopy(good)
        bad["proof"] = bad["proof"][:-3]
        emit("fisco-v3", "gen-%s-truncated" % alg, bad, False,
             "GENERATED: 7-leaf proof of leaf 2 with its top group removed")
        bad = copy.deepcopy(good)
        bad["proof"][0] = hx(v3_count(3))
        emit("fisco-v3", "gen-%s-count-overruns" % alg, bad, False,
             "GENERATED: 7-leaf proof of leaf 2 whose first count says 3")
        bad = copy.deepcopy(good)
        bad["proof"][0] = hx((2).to_bytes(4, "big"))
        emit("fisco-v3", "gen-%s-count-4-bytes" % alg, bad, False,
             "GENERATED: 7-leaf proof of leaf 2 whose first count element is 4 bytes, not the "
             "32-byte h256 the RPC emits")
        # hash-consistent 3-wide group
        a, b, c = gen_hashes("fisco-v3-wide-" + alg, 3, H)
        bad = v3_doc(alg, b, H(a + b + c), [hx(v3_count(3)), hx(a), hx(b), hx(c)])
        emit("fisco-v3", "gen-%s-group-wider-than-2" % alg, bad, False,
             "GENERATED: hash-consistent proof with a 3-member group (the tree is binary)")
        bad = v3_doc(alg, hashes[0], hashes[0], [])
        emit("fisco-v3", "gen-%s-empty-proof" % alg, bad, False,
             "GENERATED: leaf = root with an empty proof (the RPC emits [leaf]; C++ throws on [])")


def write_sources():
    heads = {
        "fisco-v2": "# fisco-v2 vectors: sources\n\nFormat: /work/shared/PROOFS.md `fisco-v2`. "
                    "Generator and independent verifier: tests/vectors/gen/fisco.py "
                    "(model of FISCO-BCOS 2.x libdevcore/TrieHash2.cpp getHash256/getMerkleProof, "
                    "libethcore/Block.cpp calTransactionRootV2_2_0, libblockchain/BlockChainImp.cpp "
                    "getMerkleProof). RPC hex has no 0x; we add it.\n\n",
        "fisco-v3": "# fisco-v3 vectors: sources\n\nFormat: /work/shared/PROOFS.md `fisco-v3`. "
                    "Generator and independent verifier: tests/vectors/gen/fisco.py "
                    "(model of FISCO-BCOS 3.x bcos-crypto/bcos-crypto/merkle/Merkle.h, width 2). "
                    "Count elements are 32 bytes (4-byte big-endian count + 28 zero bytes), as the RPC "
                    "emits them (MerkleProof = std::vector<h256>). RPC hex has no 0x; we add it.\n\n",
    }
    for fmt, rows in SOURCES.items():
        with open(os.path.join(ROOT, fmt, "SOURCES.md"), "w") as f:
            f.write(heads[fmt])
            for rel, src in sorted(rows):
                f.write("- `%s`: %s\n" % (rel, src))


def self_check():
    # cross-check the 2.x fold against an independent "tree" computation on every leaf of n=35
    for alg, H in HASHES.items():
        hs = gen_hashes("selfcheck", 35, H)
        r = v2_root(hs, H)
        for i in range(35):
            assert fold_v2(i, hs[i], v2_proof(hs, i, H), H)[-1] == r
        hs = gen_hashes("selfcheck3", 13, H)
        r = v3_root(hs, H)
        for i in range(13):
            assert v3_verify(v3_doc(alg, hs[i], r, v3_proof(hs, i, H))) is None
    assert rlp_uint(0) == b"\x80" and rlp_uint(127) == b"\x7f" and rlp_uint(128) == b"\x81\x80"
    assert rlp_uint(300) == b"\x82\x01\x2c"


def main():
    self_check()
    for fmt in SOURCES:
        for sub in ("", "invalid"):
            d = os.path.join(ROOT, fmt, sub)
            if os.path.isdir(d):
                for fn in os.listdir(d):
                    if fn.endswith(".json"):
                        os.remove(os.path.join(d, fn))
    real_v2()
    generated_v2()
    real_v3()
    generated_v3()
    write_sources()
    print("wrote %d files" % len(WRITTEN))


if __name__ == "__main__":
    main()
