#!/usr/bin/env python3
"""Test vectors for the `eth-header` and `eth-mpt` proof formats (see shared PROOFS.md).

Independent Python implementation: own RLP codec, own header checker, own Merkle-Patricia
VerifyProof (go-ethereum trie/proof.go semantics).  Generated tries are built with the PyPI
`trie` package (HexaryTrie); keccak256 comes from `eth-hash[pycryptodome]`.

Usage:
  python3 eth.py                      # regenerate generated vectors, re-check every vector on disk
  python3 eth.py --import-real        # also (re)write the real-chain vectors from fetched public
                                      # repositories (bare git dirs, see REAL_SOURCES below)

Every emitted vector is checked before it is written: valid vectors must be accepted by the
verifier here (and, for MPT, by py-trie's own proof checker), invalid ones rejected; and every
valid vector must be rejected after flipping any single byte (XOR 0x01 and XOR 0x80) of any hex
field, except the `key` of exclusion proofs (key bytes past the point where the walk ends do not
change the outcome; the Rust suite does not tamper with an exclusion's key either).
"""
import json
import os
import subprocess
import sys

import rlp as pyrlp  # only for cross-checking our own encoder
from eth_hash.auto import keccak
from trie import HexaryTrie
import trie as pytrie_pkg

HERE = os.path.dirname(os.path.abspath(__file__))
VEC = os.path.normpath(os.path.join(HERE, ".."))
HDR_DIR = os.path.join(VEC, "eth-header")
MPT_DIR = os.path.join(VEC, "eth-mpt")

try:
    from importlib.metadata import version as _pkg_version
    PYTRIE_VERSION = _pkg_version("trie")
except Exception:  # pragma: no cover
    PYTRIE_VERSION = getattr(pytrie_pkg, "__version__", "?")


def h(b):
    return "0x" + b.hex()


def unh(s):
    assert s.startswith("0x"), s
    return bytes.fromhex(s[2:])


# ----------------------------------------------------------------------------------------- RLP
class RlpError(Exception):
    pass


def rlp_encode(item):
    if isinstance(item, int):
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if isinstance(item, (bytes, bytearray)):
        item = bytes(item)
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _len_prefix(len(item), 0x80) + item
    assert isinstance(item, list)
    body = b"".join(rlp_encode(x) for x in item)
    return _len_prefix(len(body), 0xC0) + body


def _len_prefix(n, off):
    if n < 56:
        return bytes([off + n])
    nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([off + 55 + len(nb)]) + nb


def _rlp_item(b, i):
    """Decode one item at b[i:]; return (item, next_index).  Strict/canonical."""
    if i >= len(b):
        raise RlpError("truncated")
    p = b[i]
    if p < 0x80:
        return b[i:i + 1], i + 1
    if p < 0xB8:
        n = p - 0x80
        s = i + 1
        if s + n > len(b):
            raise RlpError("truncated string")
        if n == 1 and b[s] < 0x80:
            raise RlpError("non-canonical single byte")
        return b[s:s + n], s + n
    if p < 0xC0:
        ll = p - 0xB7
        n, s = _long_len(b, i + 1, ll)
        if s + n > len(b):
            raise RlpError("truncated long string")
        return b[s:s + n], s + n
    if p < 0xF8:
        n = p - 0xC0
        s = i + 1
    else:
        ll = p - 0xF7
        n, s = _long_len(b, i + 1, ll)
    end = s + n
    if end > len(b):
        raise RlpError("truncated list")
    out = []
    j = s
    while j < end:
        x, j = _rlp_item(b, j)
        if j > end:
            raise RlpError("list item overruns list")
        out.append(x)
    return out, end


def _long_len(b, s, ll):
    if s + ll > len(b):
        raise RlpError("truncated length")
    lb = b[s:s + ll]
    if lb[0] == 0:
        raise RlpError("leading zero in length")
    n = int.from_bytes(lb, "big")
    if n < 56:
        raise RlpError("long form for short length")
    return n, s + ll


def rlp_decode(b):
    item, j = _rlp_item(b, 0)
    if j != len(b):
        raise RlpError("trailing bytes")
    return item


def _raw_items(b):
    """For a list encoding, the raw encodings of its items (needed for embedded MPT nodes)."""
    p = b[0]
    if p < 0xC0:
        raise RlpError("not a list")
    if p < 0xF8:
        s, n = 1, p - 0xC0
    else:
        n, s = _long_len(b, 1, p - 0xF7)
    out = []
    j = s
    while j < s + n:
        _, k = _rlp_item(b, j)
        out.append(b[j:k])
        j = k
    return out


# -------------------------------------------------------------------------------- eth-header
# (name, exact size or None for a canonical integer / free bytes)
HEADER_FIELDS = [
    ("parentHash", 32), ("sha3Uncles", 32), ("coinbase", 20), ("stateRoot", 32),
    ("transactionsRoot", 32), ("receiptsRoot", 32), ("logsBloom", 256), ("difficulty", "int"),
    ("number", "int"), ("gasLimit", "int"), ("gasUsed", "int"), ("timestamp", "int"),
    ("extraData", "bytes"), ("mixHash", 32), ("nonce", 8),
    # optional fork fields, in order
    ("baseFeePerGas", "int"), ("withdrawalsRoot", 32), ("blobGasUsed", "int"),
    ("excessBlobGas", "int"), ("parentBeaconBlockRoot", 32), ("requestsHash", 32),
]


def header_fields(raw):
    """Decode header RLP into {name: bytes}; raise ValueError if it is not a header list."""
    try:
        items = rlp_decode(raw)
    except RlpError as e:
        raise ValueError("rlp: %s" % e)
    if not isinstance(items, list):
        raise ValueError("not a list")
    if not 15 <= len(items) <= len(HEADER_FIELDS):
        raise ValueError("%d fields" % len(items))
    out = {}
    for (name, kind), v in zip(HEADER_FIELDS, items):
        if not isinstance(v, bytes):
            raise ValueError("%s is a list" % name)
        if kind == "int":
            if len(v) > 32 or (len(v) > 0 and v[0] == 0):
                raise ValueError("%s not a canonical integer" % name)
        elif kind == "bytes":
            pass
        elif len(v) != kind:
            raise ValueError("%s has %d bytes, want %d" % (name, len(v), kind))
        out[name] = v
    return out


def check_header(doc):
    assert set(doc) == {"format", "rlp", "hash"} and doc["format"] == "eth-header", doc.keys()
    raw, want = unh(doc["rlp"]), unh(doc["hash"])
    if len(want) != 32 or keccak(raw) != want:
        return False
    try:
        header_fields(raw)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------------- eth-mpt
class ProofError(Exception):
    pass


def nibbles_of(b):
    out = []
    for x in b:
        out += [x >> 4, x & 15]
    return out


def hp_decode(b):
    if not b:
        raise ProofError("empty hex-prefix path")
    flag = b[0] >> 4
    if flag > 3:
        raise ProofError("bad hex-prefix flag")
    nib = nibbles_of(b)
    if flag & 1:
        path = nib[1:]
    else:
        if nib[1] != 0:
            raise ProofError("bad hex-prefix padding")
        path = nib[2:]
    return path, flag >= 2


def hp_encode(path, leaf):
    flag = 2 if leaf else 0
    if len(path) % 2:
        nib = [flag + 1] + path
    else:
        nib = [flag, 0] + path
    return bytes(nib[i] * 16 + nib[i + 1] for i in range(0, len(nib), 2))


def mpt_verify(root, key, proof):
    """go-ethereum VerifyProof: returns the value (bytes) or None (absent); raises ProofError.

    Nodes are found by keccak256 (as proofDb does); also returns the set of hashes used so the
    generator can assert no proof element is superfluous."""
    db = {keccak(n): n for n in proof}
    used = set()
    path = nibbles_of(key)
    pos = 0

    def load(ref):
        if ref not in db:
            raise ProofError("missing node %s" % ref.hex())
        used.add(ref)
        return db[ref]

    node_raw = load(root)
    while True:
        try:
            node = rlp_decode(node_raw)
        except RlpError as e:
            raise ProofError("bad node rlp: %s" % e)
        if not isinstance(node, list):
            raise ProofError("node is not a list")
        raws = _raw_items(node_raw)
        if len(node) == 17:
            if pos == len(path):
                v = node[16]
                if not isinstance(v, bytes):
                    raise ProofError("branch value is a list")
                return (v if v else None), used
            child, child_raw = node[path[pos]], raws[path[pos]]
            pos += 1
        elif len(node) == 2:
            if not isinstance(node[0], bytes):
                raise ProofError("path is a list")
            p, leaf = hp_decode(node[0])
            if leaf:
                if path[pos:] == p:
                    if not isinstance(node[1], bytes):
                        raise ProofError("leaf value is a list")
                    return node[1], used
                return None, used
            if not p:
                raise ProofError("empty extension")
            if path[pos:pos + len(p)] != p:
                return None, used
            pos += len(p)
            child, child_raw = node[1], raws[1]
        else:
            raise ProofError("node with %d items" % len(node))
        # resolve child reference
        if isinstance(child, list):  # embedded node (its encoding is < 32 bytes)
            if len(child_raw) >= 32:
                raise ProofError("embedded node too long")
            node_raw = child_raw
        elif child == b"":
            return None, used
        elif len(child) == 32:
            node_raw = load(child)
        else:
            raise ProofError("bad child reference")


def check_mpt(doc, strict_used=False):
    assert set(doc) == {"format", "root", "key", "value", "proof"} and doc["format"] == "eth-mpt"
    root, key = unh(doc["root"]), unh(doc["key"])
    proof = [unh(x) for x in doc["proof"]]
    want = None if doc["value"] is None else unh(doc["value"])
    if len(root) != 32:
        return False
    try:
        got, used = mpt_verify(root, key, proof)
    except ProofError:
        return False
    if strict_used:
        assert used == {keccak(n) for n in proof} and len(used) == len(proof), "superfluous proof nodes"
    return got == want


def pytrie_check(doc):
    """Cross-check with py-trie's own proof verifier (valid vectors only)."""
    from trie.exceptions import BadTrieProof
    root, key = unh(doc["root"]), unh(doc["key"])
    proof = tuple(rlp_decode(unh(x)) for x in doc["proof"])
    try:
        v = HexaryTrie.get_from_proof(root, key, proof)
    except BadTrieProof:
        return False
    want = b"" if doc["value"] is None else unh(doc["value"])
    return v == want


# ------------------------------------------------------------------------ proofs from py-trie
def build_trie(items):
    db = {}
    t = HexaryTrie(db)
    for k, v in items:
        t[k] = v
    return t, db


def extract_proof(t, db, key):
    """The go-ethereum style proof: every hashed node on the path to `key`, root first."""
    path = nibbles_of(key)
    pos = 0
    out = []
    raw = db[t.root_hash]
    out.append(raw)
    while True:
        node = rlp_decode(raw)
        raws = _raw_items(raw)
        if len(node) == 17:
            if pos == len(path):
                return out
            child, craw = node[path[pos]], raws[path[pos]]
            pos += 1
        else:
            p, leaf = hp_decode(node[0])
            if leaf or path[pos:pos + len(p)] != p:
                return out
            pos += len(p)
            child, craw = node[1], raws[1]
        if isinstance(child, list):
            raw = craw
        elif child == b"":
            return out
        else:
            raw = db[child]
            out.append(raw)


def terminal_kind(doc):
    """What the walk ends on (for documentation): 'value', 'empty-slot', 'leaf', 'extension'."""
    root, key = unh(doc["root"]), unh(doc["key"])
    db = {keccak(unh(n)): unh(n) for n in doc["proof"]}
    path, pos, raw = nibbles_of(key), 0, db[root]
    while True:
        node, raws = rlp_decode(raw), _raw_items(raw)
        if len(node) == 17:
            if pos == len(path):
                return "value" if node[16] else "empty-branch-value"
            child, craw = node[path[pos]], raws[path[pos]]
            pos += 1
        else:
            p, leaf = hp_decode(node[0])
            if leaf:
                return "value" if path[pos:] == p else "leaf"
            if path[pos:pos + len(p)] != p:
                return "extension"
            pos += len(p)
            child, craw = node[1], raws[1]
        if isinstance(child, list):
            raw = craw
        elif child == b"":
            return "empty-slot"
        else:
            raw = db[child]


# --------------------------------------------------------------------------------- flip test
def flips(doc):
    """Yield (field, description, mutated doc) for every single-byte flip of every hex field."""
    for field in [f for f in doc if f != "format"]:
        val = doc[field]
        if val is None:
            continue
        if isinstance(val, list):
            targets = [(i, s) for i, s in enumerate(val)]
        else:
            targets = [(None, val)]
        for idx, s in targets:
            b = unh(s)
            for j in range(len(b)):
                for m in (0x01, 0x80):
                    nb = bytearray(b)
                    nb[j] ^= m
                    d = dict(doc)
                    if idx is None:
                        d[field] = h(bytes(nb))
                    else:
                        lst = list(val)
                        lst[idx] = h(bytes(nb))
                        d[field] = lst
                    yield field, (idx, j, m), d


def accepted_flips(doc, check):
    return [(f, where) for f, where, d in flips(doc) if check(d)]


# ------------------------------------------------------------------------------------ output
WRITTEN = []
SOURCES = {HDR_DIR: {}, MPT_DIR: {}}


def emit(base, sub, name, doc, valid, source, allow_loose=False):
    check = check_header if doc["format"] == "eth-header" else check_mpt
    if doc["format"] == "eth-mpt" and valid:
        assert check_mpt(doc, strict_used=True), name
        assert pytrie_check(doc), "py-trie disagrees on " + name
    ok = check(doc)
    assert ok == valid, "%s: verifier says %s, expected %s" % (name, ok, valid)
    if valid:
        bad = accepted_flips(doc, check)
        if bad:
            assert allow_loose and all(f == "key" for f, _ in bad), (name, bad[:5])
            assert doc["format"] == "eth-mpt" and doc["value"] is None
            keybytes = sorted({w[1] for _, w in bad})
            source = source + "; key bytes whose flips are still a valid exclusion: %s" % (
                ",".join(map(str, keybytes)))
    d = os.path.join(base, sub) if sub else base
    os.makedirs(d, exist_ok=True)
    fn = os.path.join(d, name + ".json")
    text = json.dumps(doc, indent=1) + "\n"
    assert len(text) < 16 * 1024, (name, len(text))
    with open(fn, "w") as f:
        f.write(text)
    rel = os.path.relpath(fn, base)
    SOURCES[base][rel] = source
    WRITTEN.append(fn)
    return rel


# ------------------------------------------------------------------------ real-chain imports
HELIOS = os.environ.get("HELIOS_GIT", "/work/.mirror/a16z+helios/repo")
PORTAL = os.environ.get("PORTAL_GIT", "/work/.mirror/ethereum+portal-spec-tests/repo")


def git_show(gitdir, path):
    return subprocess.check_output(["git", "--git-dir", gitdir, "show", "HEAD:" + path])


def git_head(gitdir):
    return subprocess.check_output(["git", "--git-dir", gitdir, "rev-parse", "HEAD"]).decode().strip()


def yaml_field(text, field, nth=0):
    """First (or nth) `field: "0x…"` / `field: 0x…` value in a YAML text (no yaml dependency)."""
    found = []
    for line in text.splitlines():
        s = line.strip().lstrip("- ").strip()
        if s.startswith(field + ":"):
            found.append(s.split(":", 1)[1].strip().strip('"'))
    return found[nth]


def header_from_json(d):
    vals = []
    names = ["parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot",
             "logsBloom", "difficulty", "number", "gasLimit", "gasUsed", "timestamp", "extraData",
             "mixHash", "nonce", "baseFeePerGas", "withdrawalsRoot", "blobGasUsed",
             "excessBlobGas", "parentBeaconBlockRoot", "requestsHash"]
    ints = {"difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas",
            "blobGasUsed", "excessBlobGas"}
    for n in names:
        if d.get(n) is None:
            break
        vals.append(int(d[n], 16) if n in ints else unh(d[n]))
    return rlp_encode(vals)


# Mainnet genesis: well-known field values (go-ethereum core/genesis.go DefaultGenesisBlock:
# nonce 66, extraData 0x11bbe8db…, gasLimit 5000, difficulty 17179869184; state root of the
# genesis allocation d7f8974f…); the encoding is checked against the real genesis hash below.
GENESIS_FIELDS = [b"\0" * 32,
                  unh("0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"),
                  b"\0" * 20,
                  unh("0xd7f8974fb5ac78d9ac099b9ad5018bedc2ce0a72dad1827a1709da30580f0544"),
                  unh("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"),
                  unh("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"),
                  b"\0" * 256, 17179869184, 0, 5000, 0, 0,
                  unh("0x11bbe8db4e347b4e8c937c1c8370e4b5ed33adb3db69cbdb7a38e1e50b1b82fa"),
                  b"\0" * 32, (66).to_bytes(8, "big")]
GENESIS_HASH = "0xd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"

# portal-spec-tests: (name, block number, file with the header RLP, file whose content_key is
# 0x00 ‖ block hash, nth content_key in it)
PORTAL_HEADERS = [
    ("mainnet-14764013-london", 14764013, "headers_with_proof/14764013.yaml", 0),
    ("mainnet-15537394-paris", 15537394, "headers_with_proof/15537394.yaml", 0),
    ("mainnet-17034870-shanghai", 17034870, "headers_with_proof/17034870.yaml", 0),
    ("mainnet-19426587-cancun", 19426587, "headers_with_proof/19426587.yaml", 0),
    ("mainnet-22431084-prague", 22431084, "hive/success/22431084.yaml", 0),
]
HIST = "tests/mainnet/history/"


def logs_bloom(logs):
    b = bytearray(256)
    for addr, topics, _data in logs:
        for x in [addr] + list(topics):
            d = keccak(x)
            for i in (0, 2, 4):
                bit = ((d[i] << 8) | d[i + 1]) & 2047
                b[255 - bit // 8] |= 1 << (bit % 8)
    return bytes(b)


def import_real():
    """Write the real-chain vectors (headers, eth_getProof, a real transaction trie)."""
    # --- headers
    g = rlp_encode(GENESIS_FIELDS)
    assert pyrlp.encode(GENESIS_FIELDS) == g
    assert h(keccak(g)) == GENESIS_HASH
    emit(HDR_DIR, "", "mainnet-genesis", {"format": "eth-header", "rlp": h(g), "hash": GENESIS_HASH},
         True, "mainnet block 0: RLP encoded by tests/vectors/gen/eth.py from the well-known genesis "
         "fields (go-ethereum core/genesis.go DefaultGenesisBlock + genesis state root); keccak "
         "checked against the real genesis hash d4e56740…8fa3")
    phead = git_head(PORTAL)
    headers = {}
    for name, num, keyfile, nth in PORTAL_HEADERS:
        bd = git_show(PORTAL, HIST + "block_data/block-data-%d.yaml" % num).decode()
        raw = unh(yaml_field(bd, "header"))
        kt = git_show(PORTAL, HIST + keyfile).decode()
        ck = yaml_field(kt, "content_key", nth)
        assert ck.startswith("0x00") and len(ck) == 68, ck
        want = "0x" + ck[4:]
        assert h(keccak(raw)) == want, name
        f = header_fields(raw)
        assert int.from_bytes(f["number"], "big") == num
        headers[num] = (raw, f, bd)
        emit(HDR_DIR, "", name, {"format": "eth-header", "rlp": h(raw), "hash": want}, True,
             "github.com/ethereum/portal-spec-tests @ %s: header from %sblock_data/block-data-%d.yaml, "
             "hash from the content_key in %s%s (%d fields)" % (phead, HIST, num, HIST, keyfile, len(f)))
    hhead = git_head(HELIOS)
    blk = json.loads(git_show(HELIOS, "tests/testdata/rpc/block.json"))
    raw = header_from_json(blk)
    assert h(keccak(raw)) == blk["hash"]
    emit(HDR_DIR, "", "mainnet-21925176-cancun", {"format": "eth-header", "rlp": h(raw), "hash": blk["hash"]},
         True, "github.com/a16z/helios @ %s: tests/testdata/rpc/block.json (eth_getBlockByNumber "
         "JSON of mainnet block 21925176), RLP encoded by eth.py, keccak equals its `hash`" % hhead)

    # --- eth_getProof (same block: stateRoot 0x7b3d5a01…)
    state_root = blk["stateRoot"]
    for fname, tag in [("tests/testdata/rpc/proof.json", "deposit-contract"),
                       ("tests/testdata/rpc/block_miner_proof.json", "titan-builder")]:
        p = json.loads(git_show(HELIOS, fname))
        acct = rlp_encode([int(p["nonce"], 16), int(p["balance"], 16), unh(p["storageHash"]),
                           unh(p["codeHash"])])
        doc = {"format": "eth-mpt", "root": state_root, "key": h(keccak(unh(p["address"]))),
               "value": h(acct), "proof": p["accountProof"]}
        src = ("github.com/a16z/helios @ %s: %s (eth_getProof accountProof of %s at mainnet block "
               "21925176, stateRoot from tests/testdata/rpc/block.json); value = rlp([nonce, balance, "
               "storageHash, codeHash])" % (hhead, fname, p["address"]))
        emit(MPT_DIR, "", "mainnet-21925176-account-" + tag, doc, True, src)
        for sp in p["storageProof"]:
            slot = unh(sp["key"]).rjust(32, b"\0")
            v = int(sp["value"], 16)
            sdoc = {"format": "eth-mpt", "root": p["storageHash"], "key": h(keccak(slot)),
                    "value": h(rlp_encode(v)), "proof": sp["proof"]}
            emit(MPT_DIR, "", "mainnet-21925176-storage-%s-slot%d" % (tag, int.from_bytes(slot, "big")),
                 sdoc, True, "github.com/a16z/helios @ %s: %s storageProof[%s] (root = storageHash "
                 "of %s; key = keccak256(slot); value = rlp(slot value))" % (hhead, fname, sp["key"], p["address"]))
        if tag == "deposit-contract":
            real_acct = doc
    # invalid claims built on the real account proof
    other = json.loads(git_show(HELIOS, "tests/testdata/rpc/block_miner_proof.json"))
    bad = dict(real_acct, root=blk["receiptsRoot"])
    emit(MPT_DIR, "invalid", "real-account-wrong-root", bad, False,
         "deposit-contract account proof (mainnet-21925176-account-deposit-contract.json, from helios) with root = receiptsRoot of block 21925176")
    acct = rlp_decode(unh(real_acct["value"]))
    acct[1] = (int.from_bytes(acct[1], "big") + 1)
    emit(MPT_DIR, "invalid", "real-account-wrong-balance", dict(real_acct, value=h(rlp_encode(acct))), False,
         "deposit-contract account proof (mainnet-21925176-account-deposit-contract.json, from helios) with balance + 1 wei in the claimed value")
    emit(MPT_DIR, "invalid", "real-account-null-where-present", dict(real_acct, value=None), False,
         "deposit-contract account proof (mainnet-21925176-account-deposit-contract.json, from helios) claiming absence")
    emit(MPT_DIR, "invalid", "real-account-proof-for-other-key",
         dict(real_acct, key=h(keccak(unh(other["address"])))), False,
         "deposit-contract account proof (mainnet-21925176-account-deposit-contract.json, from helios) presented for the titan-builder account's key")
    emit(MPT_DIR, "invalid", "real-account-truncated", dict(real_acct, proof=real_acct["proof"][:-1]), False,
         "deposit-contract account proof (mainnet-21925176-account-deposit-contract.json, from helios) without its last (leaf) node")
    emit(MPT_DIR, "invalid", "real-account-root-node-only", dict(real_acct, proof=real_acct["proof"][:1]), False,
         "deposit-contract account proof (mainnet-21925176-account-deposit-contract.json, from helios) truncated to the root node")

    # --- a real transaction trie: block 19426587 (first Cancun block) from portal-spec-tests
    raw, f, bd = headers[19426587]
    body = rlp_decode(unh(yaml_field(bd, "body")))
    txs = body[0]
    items = []
    for i, tx in enumerate(txs):
        val = tx if isinstance(tx, bytes) else rlp_encode(tx)  # typed txs are byte strings
        items.append((rlp_encode(i), val))
    t, db = build_trie(items)
    assert t.root_hash == f["transactionsRoot"], "tx root mismatch"
    n = len(items)
    fits = lambda d: len(json.dumps(d, indent=1)) < 15000
    picked = []
    for want in [0, 1, 0x7f, 0x80, n - 1]:  # nearest index at or below `want` whose vector fits 16 KB
        for i in range(min(want, n - 1), -1, -1):
            k = rlp_encode(i)
            doc = {"format": "eth-mpt", "root": h(f["transactionsRoot"]), "key": h(k),
                   "value": h(items[i][1]), "proof": [h(x) for x in extract_proof(t, db, k)]}
            if fits(doc):
                break
        if i in picked:
            continue
        picked.append(i)
        emit(MPT_DIR, "", "mainnet-19426587-tx%d" % i, doc, True,
             "transaction %d of mainnet block 19426587 (portal-spec-tests @ %s %sblock_data/"
             "block-data-19426587.yaml body); trie rebuilt with py-trie %s, its root equals the "
             "header's transactionsRoot; proof extracted by eth.py" % (i, phead, HIST, PYTRIE_VERSION))
    tx0 = json.load(open(os.path.join(MPT_DIR, "mainnet-19426587-tx0.json")))
    emit(MPT_DIR, "invalid", "real-tx0-against-receipts-root", dict(tx0, root=h(f["receiptsRoot"])), False,
         "transaction 0 proof of mainnet block 19426587 presented against that block's receiptsRoot")

    # --- the same block's receipt trie. portal-spec-tests stores receipts as
    # [type, status, cumulativeGas, logs] (no bloom); rebuild the consensus encoding
    # (type byte ‖ rlp([status, cumulativeGas, bloom, logs]), legacy without the type byte)
    rc = rlp_decode(unh(yaml_field(bd, "receipts")))
    ritems = []
    for i, (typ, status, gas, logs) in enumerate(rc):
        enc = rlp_encode([status, gas, logs_bloom(logs), logs])
        ty = int.from_bytes(typ, "big")
        ritems.append((rlp_encode(i), (bytes([ty]) + enc) if ty else enc))
    rt, rdb = build_trie(ritems)
    assert rt.root_hash == f["receiptsRoot"], "receipts root mismatch"
    picked = []
    for want in [0, len(ritems) - 1]:
        for i in range(want, -1, -1):
            doc = mpt_doc(rt, rdb, ritems[i][0], ritems[i][1])
            if fits(doc):
                break
        if i in picked:
            continue
        picked.append(i)
        emit(MPT_DIR, "", "mainnet-19426587-receipt%d" % i, doc, True,
             "receipt %d of mainnet block 19426587 (portal-spec-tests @ %s %sblock_data/block-data-19426587.yaml "
             "receipts, re-encoded with their logs bloom); trie rebuilt with py-trie %s, its root equals the "
             "header's receiptsRoot; proof extracted by eth.py" % (i, phead, HIST, PYTRIE_VERSION))
        if len(picked) == 1:
            v = unh(doc["value"])
            ty, payload = (v[:1], v[1:]) if v[0] < 0xC0 else (b"", v)
            r = rlp_decode(payload)
            r[0] = b"" if r[0] == b"\x01" else b"\x01"
            emit(MPT_DIR, "invalid", "real-receipt%d-status-flipped" % i, dict(doc, value=h(ty + rlp_encode(r))),
                 False, "receipt %d proof of mainnet block 19426587 claiming the opposite status" % i)

    k = rlp_encode(n)
    doc = {"format": "eth-mpt", "root": h(f["transactionsRoot"]), "key": h(k), "value": None,
           "proof": [h(x) for x in extract_proof(t, db, k)]}
    emit(MPT_DIR, "", "mainnet-19426587-tx%d-absent" % n, doc, True,
         "exclusion of index %d (one past the last transaction) in mainnet block 19426587's "
         "transaction trie (as above)" % n, allow_loose=True)


# ------------------------------------------------------------------- invalid header vectors
def header_invalids():
    g = list(GENESIS_FIELDS)

    def own(fields_or_raw, name, why):
        raw = fields_or_raw if isinstance(fields_or_raw, bytes) else rlp_encode(fields_or_raw)
        emit(HDR_DIR, "invalid", name, {"format": "eth-header", "rlp": h(raw), "hash": h(keccak(raw))},
             False, "generated by tests/vectors/gen/eth.py: %s; hash = its own keccak256, so the claim "
             "fails only because it is not a header" % why)

    graw = rlp_encode(g)
    other = None
    for fn in sorted(os.listdir(HDR_DIR)):
        if fn.endswith(".json") and "genesis" not in fn:
            other = json.load(open(os.path.join(HDR_DIR, fn)))["hash"]
            otherfn = fn
            break
    assert other, "run with --import-real first"
    emit(HDR_DIR, "invalid", "genesis-rlp-other-hash", {"format": "eth-header", "rlp": h(graw), "hash": other},
         False, "generated by tests/vectors/gen/eth.py: mainnet genesis RLP with the hash of %s" % otherfn)
    emit(HDR_DIR, "invalid", "genesis-rlp-keccak-of-rlp-string",
         {"format": "eth-header", "rlp": h(graw), "hash": h(keccak(rlp_encode(graw)))}, False,
         "generated by tests/vectors/gen/eth.py: mainnet genesis RLP with hash = keccak256(rlp(genesis rlp as a string))")
    x = list(g); x[2] = b"\0" * 19
    own(x, "coinbase-19-bytes", "mainnet genesis fields with a 19-byte coinbase")
    x = list(g); x[2] = b"\0" * 21
    own(x, "coinbase-21-bytes", "mainnet genesis fields with a 21-byte coinbase")
    x = list(g); x[6] = b"\0" * 255
    own(x, "logsbloom-255-bytes", "mainnet genesis fields with a 255-byte logsBloom")
    x = list(g); x[14] = b"\0" * 7 + b"\x42\x00"
    own(x, "nonce-9-bytes", "mainnet genesis fields with a 9-byte nonce")
    x = list(g); x[3] = x[3][:31]
    own(x, "stateroot-31-bytes", "mainnet genesis fields with a 31-byte stateRoot")
    own(g[:14], "14-fields", "mainnet genesis fields without the nonce (14 items)")
    x = list(g); x[12] = [x[12]]
    own(x, "extradata-is-list", "mainnet genesis fields with extraData wrapped in a list")
    own(rlp_encode(graw), "rlp-string-not-list", "the genesis header RLP wrapped as an RLP byte string")
    own(graw + b"\x00", "trailing-byte", "the genesis header RLP followed by one 0x00 byte")
    own(graw[:-1], "truncated-rlp", "the genesis header RLP without its last byte")
    # from the Prague header (21 fields): a 22nd field, and a 31-byte requestsHash
    pr = json.load(open(os.path.join(HDR_DIR, "mainnet-22431084-prague.json")))
    pf = rlp_decode(unh(pr["rlp"]))
    assert len(pf) == 21
    own(pf + [b"\x11" * 32], "22-fields", "mainnet block 22431084 header fields plus a 22nd 32-byte field")
    x = list(pf); x[20] = x[20][:31]
    own(x, "requestshash-31-bytes", "mainnet block 22431084 header fields with a 31-byte requestsHash")
    sh = rlp_decode(unh(json.load(open(os.path.join(HDR_DIR, "mainnet-17034870-shanghai.json")))["rlp"]))
    assert len(sh) == 17
    x = list(sh); x[16] = x[16][:31]
    own(x, "withdrawalsroot-31-bytes", "mainnet block 17034870 header fields with a 31-byte withdrawalsRoot")
    x = list(sh); x[15] = [x[15]]
    own(x, "basefee-is-list", "mainnet block 17034870 header fields with baseFeePerGas wrapped in a list")
    # non-canonical encodings that go-ethereum's RLP decoder refuses
    x = list(g); x[9] = b"\x00" + (5000).to_bytes(2, "big")
    own(x, "gaslimit-leading-zero", "mainnet genesis fields with gasLimit encoded with a leading zero "
        "byte (go-ethereum rlp: non-canonical integer)")
    body = b"".join(rlp_encode(v) for v in g)
    nonc = bytes([0xF9]) + len(body).to_bytes(2, "big")  # same as canonical (len >= 256)
    assert nonc + body == graw
    nonc = bytes([0xFA, 0x00]) + len(body).to_bytes(2, "big")
    own(nonc + body, "list-length-leading-zero", "the genesis header with its list length written in "
        "3 bytes with a leading zero (non-canonical RLP size)")


# ------------------------------------------------------------------------- generated tries
def gen_src(what):
    return "generated by tests/vectors/gen/eth.py with py-trie %s: %s" % (PYTRIE_VERSION, what)


def mpt_doc(t, db, key, value):
    return {"format": "eth-mpt", "root": h(t.root_hash), "key": h(key),
            "value": None if value is None else h(value),
            "proof": [h(x) for x in extract_proof(t, db, key)]}


def depth_of(doc):
    return len(doc["proof"])


def gen_keccak_1000():
    items = []
    for i in range(1000):
        k = keccak(i.to_bytes(32, "big"))
        v = rlp_encode(keccak(b"value" + i.to_bytes(4, "big"))[: 1 + (i * 7) % 32])
        items.append((k, v))
    t, db = build_trie(items)
    kv = dict(items)
    desc = "1000-key trie, key_i = keccak256(uint256 i), value_i = rlp(first 1+7i%32 bytes of keccak256('value'‖u32 i)), i = 0..999"
    # inclusions: the first, and the shallowest and deepest leaves
    docs = [(i, mpt_doc(t, db, items[i][0], items[i][1])) for i in range(1000)]
    shallow = min(docs, key=lambda d: depth_of(d[1]))
    deep = max(docs, key=lambda d: depth_of(d[1]))
    picks = {0: docs[0][1], shallow[0]: shallow[1], deep[0]: deep[1], 500: docs[500][1]}
    for i, d in sorted(picks.items()):
        emit(MPT_DIR, "", "keccak1000-incl-%d" % i, d, True,
             gen_src(desc + "; inclusion of i=%d (%d proof nodes)" % (i, len(d["proof"]))))
    # exclusions: one of each terminal kind
    found = {}
    j = 0
    while len(found) < 3 and j < 200000:
        k = keccak(b"absent" + j.to_bytes(4, "big"))
        j += 1
        if k in kv:
            continue
        d = mpt_doc(t, db, k, None)
        kind = terminal_kind(d)
        if kind not in found:
            found[kind] = (j - 1, d)
    assert set(found) == {"empty-slot", "leaf", "extension"}, found.keys()
    for kind, (jj, d) in sorted(found.items()):
        emit(MPT_DIR, "", "keccak1000-excl-%s" % kind, d, True,
             gen_src(desc + "; exclusion of key keccak256('absent'‖u32 %d), walk ends at %s" % (jj, kind)),
             allow_loose=True)
    # invalid claims
    incl, excl = picks[0], found["leaf"][1]
    emit(MPT_DIR, "invalid", "keccak1000-value-where-absent", dict(excl, value=incl["value"]), False,
         gen_src(desc + "; exclusion proof (ends at a leaf with another key) claiming a value"))
    emit(MPT_DIR, "invalid", "keccak1000-value-where-absent-empty-slot",
         dict(found["empty-slot"][1], value=incl["value"]), False,
         gen_src(desc + "; exclusion proof (ends at an empty branch slot) claiming a value"))
    emit(MPT_DIR, "invalid", "keccak1000-null-where-present", dict(incl, value=None), False,
         gen_src(desc + "; inclusion proof of i=0 claiming absence"))
    emit(MPT_DIR, "invalid", "keccak1000-wrong-value", dict(incl, value=h(items[1][1])), False,
         gen_src(desc + "; inclusion proof of i=0 claiming value_1"))
    emit(MPT_DIR, "invalid", "keccak1000-proof-for-other-key", dict(incl, key=h(items[1][0]), value=h(items[1][1])),
         False, gen_src(desc + "; proof of i=0 presented for key_1 with value_1"))
    emit(MPT_DIR, "invalid", "keccak1000-truncated", dict(incl, proof=incl["proof"][:-1]), False,
         gen_src(desc + "; inclusion proof of i=0 without its last node"))
    t2, db2 = build_trie(items[:999])
    emit(MPT_DIR, "invalid", "keccak1000-wrong-root", dict(incl, root=h(t2.root_hash)), False,
         gen_src(desc + "; inclusion proof of i=0 with the root of the trie of i = 0..998"))
    emit(MPT_DIR, "invalid", "keccak1000-excl-truncated", dict(excl, proof=excl["proof"][:-1]), False,
         gen_src(desc + "; exclusion proof (leaf kind) without its last node"))


def gen_embedded():
    # short keys and values: every node below the root is embedded (< 32 bytes)
    items = [(bytes([k]), bytes([v])) for k, v in
             [(0x10, 0x01), (0x11, 0x02), (0x12, 0x03), (0x20, 0x04), (0x35, 0x05), (0x36, 0x06)]]
    t, db = build_trie(items)
    desc = "6-key trie with 1-byte keys {10,11,12,20,35,36} and 1-byte values 01..06: only the root is hashed, all other nodes embedded"
    assert any(isinstance(c, list) for c in rlp_decode(db[t.root_hash])), "expected embedded children"
    for k, v in items:
        d = mpt_doc(t, db, k, v)
        assert len(d["proof"]) == 1
        emit(MPT_DIR, "", "embedded-incl-%s" % k.hex(), d, True, gen_src(desc + "; inclusion of %s" % k.hex()))
    d = mpt_doc(t, db, b"\x13", None)
    emit(MPT_DIR, "", "embedded-excl-13", d, True,
         gen_src(desc + "; exclusion of 13 (empty slot of an embedded branch)"), allow_loose=True)
    d = mpt_doc(t, db, b"\x37", None)
    emit(MPT_DIR, "", "embedded-excl-37", d, True,
         gen_src(desc + "; exclusion of 37 (empty slot of the embedded branch under an embedded extension)"),
         allow_loose=True)
    incl = mpt_doc(t, db, b"\x11", b"\x02")
    emit(MPT_DIR, "invalid", "embedded-wrong-value", dict(incl, value="0x03"), False,
         gen_src(desc + "; inclusion proof of 11 claiming 03 (the value of 12)"))
    emit(MPT_DIR, "invalid", "embedded-value-where-absent", dict(mpt_doc(t, db, b"\x13", None), value="0x02"),
         False, gen_src(desc + "; exclusion proof of 13 claiming 02"))
    emit(MPT_DIR, "invalid", "embedded-null-where-present", dict(incl, value=None), False,
         gen_src(desc + "; inclusion proof of 11 claiming absence"))
    emit(MPT_DIR, "invalid", "embedded-empty-proof", dict(incl, proof=[]), False,
         gen_src(desc + "; inclusion of 11 with an empty proof list"))


def flip_neighbours(key):
    out = []
    for j in range(len(key)):
        for m in (0x01, 0x80):
            b = bytearray(key)
            b[j] ^= m
            out.append(bytes(b))
    return out


def gen_strict_exclusions():
    """Exclusion proofs in which every key byte matters: every single-byte flip of the key
    (XOR 01 / XOR 80) is itself a key of the trie (or leads into a hashed node the proof lacks)."""
    K = bytes.fromhex("5a3c")
    val = lambda k: keccak(b"strict" + k)  # 32-byte values: leaves are hashed nodes

    def run(name, items, kind, what):
        t, db = build_trie(items)
        d = mpt_doc(t, db, K, None)
        assert terminal_kind(d) == kind, (name, terminal_kind(d))
        emit(MPT_DIR, "", name, d, True, gen_src(what + "; exclusion of key 5a3c, walk ends at " + kind))
        return t, db, d

    nb = flip_neighbours(K)  # 5b3c da3c 5a3d 5abc
    items = [(k, val(k)) for k in nb + [bytes.fromhex("5a35")]]
    t, db, d = run("strict-excl-empty-slot", items, "empty-slot",
                   "trie of the 2-byte keys {5b3c, da3c, 5a3d, 5abc, 5a35}, values keccak256('strict'‖key)")
    emit(MPT_DIR, "invalid", "strict-excl-empty-slot-value-where-absent", dict(d, value=h(val(nb[2]))), False,
         gen_src("the strict-excl-empty-slot proof claiming the value of 5a3d"))
    items = [(k, val(k)) for k in nb]
    t, db, d = run("strict-excl-leaf", items, "leaf",
                   "trie of the 2-byte keys {5b3c, da3c, 5a3d, 5abc}, values keccak256('strict'‖key)")
    emit(MPT_DIR, "invalid", "strict-excl-leaf-value-where-absent", dict(d, value=h(val(nb[2]))), False,
         gen_src("the strict-excl-leaf proof claiming the value of 5a3d (the leaf's own key)"))
    emit(MPT_DIR, "invalid", "strict-excl-leaf-as-proof-of-5a3d", dict(d, key="0x5a3d"), False,
         gen_src("the strict-excl-leaf proof (exclusion of 5a3c) presented as an exclusion of 5a3d, which is present"))
    items = [(k, val(k)) for k in [nb[0], nb[1], nb[3], bytes.fromhex("5a3d00"), bytes.fromhex("5a3d10")]]
    t, db, d = run("strict-excl-extension", items, "extension",
                   "trie of the keys {5b3c, da3c, 5abc, 5a3d00, 5a3d10} (extension [d] under 5a3), "
                   "values keccak256('strict'‖key)")
    emit(MPT_DIR, "invalid", "strict-excl-extension-truncated", dict(d, proof=d["proof"][:-1]), False,
         gen_src("the strict-excl-extension proof without its last node (the extension)"))


def gen_tx_trie():
    n = 201
    items = []
    for i in range(n):
        body = keccak(b"tx" + i.to_bytes(2, "big")) * (2 + i % 3)
        items.append((rlp_encode(i), rlp_encode([i, body[: 40 + i % 50]])))
    t, db = build_trie(items)
    desc = ("transaction-trie-style trie: key rlp(i) for i = 0..200, value rlp([i, first 40+i%50 bytes of "
            "(keccak256('tx'‖u16 i) repeated)])")
    for i in [0, 1, 15, 16, 0x7f, 0x80, 0x81, 200]:
        d = mpt_doc(t, db, items[i][0], items[i][1])
        emit(MPT_DIR, "", "txtrie201-incl-%d" % i, d, True,
             gen_src(desc + "; inclusion of index %d (key %s)" % (i, items[i][0].hex())))
    for i in [201, 0x100]:
        d = mpt_doc(t, db, rlp_encode(i), None)
        emit(MPT_DIR, "", "txtrie201-excl-%d" % i, d, True,
             gen_src(desc + "; exclusion of index %d (key %s, walk ends at %s)" % (i, rlp_encode(i).hex(), terminal_kind(d))),
             allow_loose=True)
    d0 = mpt_doc(t, db, items[0][0], items[0][1])
    emit(MPT_DIR, "invalid", "txtrie201-index0-proof-for-index1", dict(d0, key=h(items[1][0]), value=h(items[1][1])),
         False, gen_src(desc + "; proof of index 0 presented for index 1"))
    emit(MPT_DIR, "invalid", "txtrie201-index0-null", dict(d0, value=None), False,
         gen_src(desc + "; proof of index 0 claiming absence"))
    emit(MPT_DIR, "invalid", "txtrie201-index0-key-00", dict(d0, key="0x00"), False,
         gen_src(desc + "; proof of index 0 with key 0x00 (uint 0 not RLP-encoded) instead of 0x80"))
    d = mpt_doc(t, db, rlp_encode(201), None)
    emit(MPT_DIR, "invalid", "txtrie201-excl-201-claims-value", dict(d, value=h(items[200][1])), False,
         gen_src(desc + "; exclusion proof of index 201 claiming the value of index 200"))


# ------------------------------------------------------------------------------ SOURCES.md
def write_sources():
    for base, title in [(HDR_DIR, "eth-header"), (MPT_DIR, "eth-mpt")]:
        fn = os.path.join(base, "SOURCES.md")
        old = {}
        if os.path.exists(fn):
            for line in open(fn):
                if line.startswith("- `"):
                    name, rest = line[3:].split("`", 1)
                    old[name] = rest.strip().lstrip("—").strip()
        old.update(SOURCES[base])
        # drop entries whose file no longer exists
        old = {k: v for k, v in old.items() if os.path.exists(os.path.join(base, k))}
        with open(fn, "w") as f:
            f.write("# %s vectors: sources\n\n" % title)
            f.write("One line per file. Real-chain data is cited by repository, path and commit; everything was\n"
                    "checked by tests/vectors/gen/eth.py (own RLP/keccak/VerifyProof) before being written.\n")
            if title == "eth-mpt":
                f.write("Exclusion proofs (`\"value\": null`): key bytes past the point where the walk ends do not\n"
                        "change the outcome (go-ethereum answers 'absent' whatever they are), so the byte-flip test\n"
                        "does not tamper with the `key` of an exclusion claim (`proofs/src/test_utils.rs`); node and\n"
                        "root flips must still be rejected. Lines below say which key bytes are loose per file.\n")
            f.write("\n")
            for k in sorted(old):
                f.write("- `%s` — %s\n" % (k, old[k]))


def recheck_all():
    n = 0
    for base, check in [(HDR_DIR, check_header), (MPT_DIR, check_mpt)]:
        for dirpath, _, files in os.walk(base):
            for fn in sorted(files):
                if not fn.endswith(".json"):
                    continue
                doc = json.load(open(os.path.join(dirpath, fn)))
                want = os.path.basename(dirpath) != "invalid"
                assert check(doc) == want, os.path.join(dirpath, fn)
                if want:
                    bad = accepted_flips(doc, check)
                    assert all(f == "key" for f, _ in bad) and (not bad or doc.get("value", 0) is None), fn
                n += 1
    return n


def main():
    if "--import-real" in sys.argv:
        import_real()
    header_invalids()
    gen_keccak_1000()
    gen_embedded()
    gen_strict_exclusions()
    gen_tx_trie()
    write_sources()
    n = recheck_all()
    print("wrote %d files; re-checked %d vectors on disk" % (len(WRITTEN), n))


if __name__ == "__main__":
    main()
