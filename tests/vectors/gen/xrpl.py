#!/usr/bin/env python3
"""Test-vector generator for the `xrpl-ledger-header` and `xrpl-shamap` proof formats.

Independent Python implementation (written from the XRPL / rippled SHAMap rules, not from
the Rust code) of:
  * the ledger header hash  H("LWR\\0" | seq u32 | coins u64 | parent | tx root | state root |
    parent_close u32 | close u32 | res u8 | flags u8), big-endian;
  * the SHAMap: a 16-ary radix tree on 256-bit keys.  The root is always an inner node
    (depth 0); each leaf hangs at the shallowest depth where its key prefix is unique
    among the map's keys (so a lone item hangs directly under the root); inner node hash
    = H("MIN\\0" | 16 x 32-byte child hashes, zero = empty), all-empty inner = zero hash;
    leaf hashes H("SND\\0" | VL(tx) | VL(meta) | key) (key = txid = H("TXN\\0" | tx)) and
    H("MLN\\0" | data | key);
  * H = SHA-512Half (first 32 bytes of SHA-512) or SM3 (ChainSQL "guomi" mode).

Usage:
  python3 xrpl.py            regenerate the generated vectors, re-verify every vector on disk
  python3 xrpl.py --real DIR also (re)build the real-chain vectors from a checkout / bare git
                             dir of XRPLF/xrpl.js (needs `xrpl-py` for the binary codec)

Every vector is checked with the verifier below (valid ones accepted, invalid ones
rejected) before it is written.
"""
import hashlib
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VEC = os.path.dirname(HERE)
HDR_DIR = os.path.join(VEC, "xrpl-ledger-header")
MAP_DIR = os.path.join(VEC, "xrpl-shamap")
ZERO = bytes(32)
MAX_FILE = 16 * 1024

# ---------------------------------------------------------------- hashes


_SM3 = None


def _load_sm3():
    """tests/vectors/gen/sm3.py (pure-Python SM3 from a sibling generator) if present, else gmssl."""
    path = os.path.join(HERE, "sm3.py")
    if os.path.exists(path):
        import importlib.util

        spec = importlib.util.spec_from_file_location("_gen_sm3", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod.sm3
    from gmssl import func, sm3

    return lambda data: bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(data)))


def _sm3(data):
    global _SM3
    if _SM3 is None:
        _SM3 = _load_sm3()
    return _SM3(bytes(data))


assert _sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def H(alg, data):
    if alg == "sha512half":
        return hashlib.sha512(data).digest()[:32]
    if alg == "sm3":
        return _sm3(data)
    raise ValueError("unknown hash_alg %r" % alg)


P_LWR, P_TXN, P_SND, P_MLN, P_MIN = b"LWR\0", b"TXN\0", b"SND\0", b"MLN\0", b"MIN\0"


def vl(n):
    """XRPL variable-length prefix (rippled Serializer::addEncoded)."""
    if n <= 192:
        return bytes([n])
    if n <= 12480:
        n -= 193
        return bytes([193 + (n >> 8), n & 0xFF])
    if n <= 918744:
        n -= 12481
        return bytes([241 + (n >> 16), (n >> 8) & 0xFF, n & 0xFF])
    raise ValueError("too long for VL")


def nibble(key, depth):
    b = key[depth // 2]
    return (b >> 4) if depth % 2 == 0 else (b & 0x0F)


def leaf_hash(alg, key, leaf):
    if "data" in leaf:
        return H(alg, P_MLN + leaf["data"] + key)
    tx, meta = leaf["tx"], leaf["meta"]
    return H(alg, P_SND + vl(len(tx)) + tx + vl(len(meta)) + meta + key)


def inner_hash(alg, children):
    if all(c == ZERO for c in children):
        return ZERO
    return H(alg, P_MIN + b"".join(children))


def header_hash(alg, h):
    return H(
        alg,
        P_LWR
        + h["seq"].to_bytes(4, "big")
        + int(h["total_coins"]).to_bytes(8, "big")
        + h["parent_hash"]
        + h["transaction_hash"]
        + h["account_hash"]
        + h["parent_close_time"].to_bytes(4, "big")
        + h["close_time"].to_bytes(4, "big")
        + h["close_time_resolution"].to_bytes(1, "big")
        + h["close_flags"].to_bytes(1, "big"),
    )


# ---------------------------------------------------------------- SHAMap builder


class SHAMap:
    """Canonical SHAMap: root inner node at depth 0, leaves at the shallowest unique depth."""

    def __init__(self, alg):
        self.alg = alg
        self.items = {}  # key -> leaf dict

    def add_state(self, key, data):
        self.items[key] = {"data": data}

    def add_tx(self, tx, meta):
        key = H(self.alg, P_TXN + tx)
        self.items[key] = {"tx": tx, "meta": meta}
        return key

    def _build(self, keys, depth):
        # returns (hash, node) ; node = ("leaf", key) or ("inner", [16 nodes or None], [16 hashes])
        if len(keys) == 1 and depth > 0:
            k = keys[0]
            return leaf_hash(self.alg, k, self.items[k]), ("leaf", k)
        groups = [[] for _ in range(16)]
        for k in keys:
            groups[nibble(k, depth)].append(k)
        kids, hashes = [], []
        for g in groups:
            if g:
                h, n = self._build(g, depth + 1)
            else:
                h, n = ZERO, None
            kids.append(n)
            hashes.append(h)
        return inner_hash(self.alg, hashes), ("inner", kids, hashes)

    def build(self):
        self.root_hash, self.root = self._build(sorted(self.items), 0)
        return self.root_hash

    def proof(self, key):
        node, depth, path = self.root, 0, []
        while node[0] == "inner":
            path.append(list(node[2]))
            node = node[1][nibble(key, depth)]
            depth += 1
            if node is None:
                raise KeyError("key not in map")
        if node[1] != key:
            raise KeyError("key not in map")
        return list(reversed(path))

    def depth_of(self, key):
        return len(self.proof(key))


# ---------------------------------------------------------------- JSON (de)serialisation

HDR_FIELDS = ["format", "hash_alg", "seq", "total_coins", "parent_hash", "transaction_hash",
              "account_hash", "parent_close_time", "close_time", "close_time_resolution",
              "close_flags", "hash"]
MAP_FIELDS = ["format", "hash_alg", "key", "leaf", "root", "proof"]


def hx(b):
    return "0x" + b.hex()


def unhex(s, n=None):
    if not isinstance(s, str) or not s.startswith("0x"):
        raise ValueError("hex must start with 0x")
    body = s[2:]
    if body != body.lower():
        raise ValueError("hex must be lower case")
    b = bytes.fromhex(body)
    if len(body) != 2 * len(b):
        raise ValueError("bad hex")
    if n is not None and len(b) != n:
        raise ValueError("expected %d bytes" % n)
    return b


def uint(v, bits):
    if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v >= (1 << bits):
        raise ValueError("bad u%d" % bits)
    return v


def header_doc(alg, seq, coins, parent, txh, acc, pct, ct, res, flags, hsh=None):
    d = {"format": "xrpl-ledger-header", "hash_alg": alg, "seq": seq, "total_coins": str(coins),
         "parent_hash": hx(parent), "transaction_hash": hx(txh), "account_hash": hx(acc),
         "parent_close_time": pct, "close_time": ct, "close_time_resolution": res,
         "close_flags": flags, "hash": None}
    d["hash"] = hx(hsh if hsh is not None else header_hash(alg, parse_header(d, check_hash=False)))
    return d


def parse_header(d, check_hash=True):
    if not isinstance(d, dict) or sorted(d) != sorted(HDR_FIELDS):
        raise ValueError("fields")
    if d["format"] != "xrpl-ledger-header" or d["hash_alg"] not in ("sha512half", "sm3"):
        raise ValueError("format/alg")
    tc = d["total_coins"]
    if not isinstance(tc, str) or not tc.isdigit() or (len(tc) > 1 and tc[0] == "0"):
        raise ValueError("total_coins")
    h = {"seq": uint(d["seq"], 32), "total_coins": uint(int(tc), 64),
         "parent_hash": unhex(d["parent_hash"], 32), "transaction_hash": unhex(d["transaction_hash"], 32),
         "account_hash": unhex(d["account_hash"], 32),
         "parent_close_time": uint(d["parent_close_time"], 32), "close_time": uint(d["close_time"], 32),
         "close_time_resolution": uint(d["close_time_resolution"], 8), "close_flags": uint(d["close_flags"], 8)}
    if check_hash:
        h["hash"] = unhex(d["hash"], 32)
    return h


def verify_header(d):
    h = parse_header(d)
    return header_hash(d["hash_alg"], h) == h["hash"]


def shamap_doc(alg, m, key, root=None, proof=None):
    leaf = m.items[key]
    return {"format": "xrpl-shamap", "hash_alg": alg, "key": hx(key),
            "leaf": {k: hx(v) for k, v in leaf.items()},
            "root": hx(root if root is not None else m.root_hash),
            "proof": [[hx(c) for c in node] for node in (proof if proof is not None else m.proof(key))]}


def verify_shamap(d):
    """Independent verifier: the rules of PROOFS.md (xrpl-shamap)."""
    if not isinstance(d, dict) or sorted(d) != sorted(MAP_FIELDS):
        raise ValueError("fields")
    if d["format"] != "xrpl-shamap" or d["hash_alg"] not in ("sha512half", "sm3"):
        raise ValueError("format/alg")
    alg = d["hash_alg"]
    key = unhex(d["key"], 32)
    lf = d["leaf"]
    if not isinstance(lf, dict) or sorted(lf) not in (["data"], ["meta", "tx"]):
        raise ValueError("leaf fields")
    leaf = {k: unhex(v) for k, v in lf.items()}
    root = unhex(d["root"], 32)
    proof = d["proof"]
    if not isinstance(proof, list) or not (1 <= len(proof) <= 64):
        return False  # the root of a SHAMap is always an inner node
    nodes = []
    for n in proof:
        if not isinstance(n, list) or len(n) != 16:
            raise ValueError("inner node must have 16 children")
        nodes.append([unhex(c, 32) for c in n])
    if "tx" in leaf and H(alg, P_TXN + leaf["tx"]) != key:
        return False  # key must be the transaction id
    cur = leaf_hash(alg, key, leaf)
    depth = len(nodes)
    for i, node in enumerate(nodes):  # nodes[0] = leaf's parent at depth len-1
        d_ = depth - 1 - i
        if node[nibble(key, d_)] != cur:
            return False
        cur = inner_hash(alg, node)
    return cur == root


# ---------------------------------------------------------------- writing

written = {}  # relpath -> source line


def emit(fmt_dir, name, doc, valid, source, malformed=False):
    """malformed: a document the Rust parser must refuse (exit 2), kept under malformed/."""
    ver = verify_header if doc.get("format") == "xrpl-ledger-header" else verify_shamap
    try:
        ok = ver(doc)
    except (ValueError, KeyError, TypeError):
        ok = False
    if ok != valid:
        raise SystemExit("self-check failed for %s/%s (valid=%s)" % (fmt_dir, name, valid))
    if valid:  # the Rust suite flips every byte of every hex field: all must be rejected
        for mut in byte_flips(doc):
            try:
                bad = ver(mut)
            except (ValueError, KeyError, TypeError):
                bad = False
            if bad:
                raise SystemExit("byte flip accepted in %s/%s" % (fmt_dir, name))
    text = json.dumps(doc, indent=1) + "\n"
    if len(text) >= MAX_FILE:
        raise SystemExit("%s/%s is %d bytes" % (fmt_dir, name, len(text)))
    rel = ("" if valid else "malformed/" if malformed else "invalid/") + name + ".json"
    path = os.path.join(VEC, fmt_dir, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    written[(fmt_dir, rel)] = source


def byte_flips(doc):
    def walk(v, setter):
        if isinstance(v, str) and v.startswith("0x"):
            b = bytes.fromhex(v[2:])
            for i in range(len(b)):
                for x in (0x01, 0x80):
                    nb = bytearray(b)
                    nb[i] ^= x
                    yield setter("0x" + nb.hex())
        elif isinstance(v, dict):
            for k in v:
                yield from walk(v[k], lambda nv, k=k, v=v: setter({**v, k: nv}))
        elif isinstance(v, list):
            for i in range(len(v)):
                yield from walk(v[i], lambda nv, i=i, v=v: setter(v[:i] + [nv] + v[i + 1:]))

    yield from walk(doc, lambda nv: nv)


def write_sources():
    for d in (HDR_DIR, MAP_DIR):
        fmt = os.path.basename(d)
        existing = {}
        p = os.path.join(d, "SOURCES.md")
        if os.path.exists(p):
            for line in open(p):
                if line.startswith("- `"):
                    rel = line[3:].split("`", 1)[0]
                    existing[rel] = line.split("`: ", 1)[1].rstrip("\n")
        for (f, rel), src in written.items():
            if f == fmt:
                existing[rel] = src
        on_disk = set()
        for root, _, files in os.walk(d):
            for fn in files:
                if fn.endswith(".json"):
                    on_disk.add(os.path.relpath(os.path.join(root, fn), d))
        with open(p, "w") as out:
            out.write("# %s test vectors: sources\n\n" % fmt)
            out.write("Generated/checked by `tests/vectors/gen/xrpl.py` (independent Python SHAMap and "
                      "ledger-header hash).  Real data: XRPL mainnet ledgers as recorded in test "
                      "fixtures of github.com/XRPLF/xrpl.js; JSON objects were re-serialised to the "
                      "XRPL binary format with `xrpl-py` and checked against the recorded hashes.\n\n")
            for rel in sorted(on_disk):
                out.write("- `%s`: %s\n" % (rel, existing.get(rel, "(unknown)")))


# ---------------------------------------------------------------- real chain data

XRPLJS_COMMIT = None


def git_json(repo, path):
    global XRPLJS_COMMIT
    gd = repo if os.path.exists(os.path.join(repo, "HEAD")) and not os.path.exists(os.path.join(repo, ".git")) \
        else os.path.join(repo, ".git")
    if XRPLJS_COMMIT is None:
        XRPLJS_COMMIT = subprocess.check_output(["git", "--git-dir", gd, "rev-parse", "HEAD"]).decode().strip()
    return json.loads(subprocess.check_output(["git", "--git-dir", gd, "show", "HEAD:" + path]))


def src(path, extra=""):
    return "XRPLF/xrpl.js `%s` @ %s%s" % (path, XRPLJS_COMMIT, extra)


def _encode(obj):
    # this file is itself named xrpl.py: hide its directory while importing xrpl-py
    saved, mod = sys.path[:], sys.modules.pop("xrpl", None)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
    try:
        from xrpl.core.binarycodec import encode
    finally:
        sys.path[:] = saved
        if mod is not None and getattr(mod, "__file__", "") == os.path.abspath(__file__):
            sys.modules["xrpl"] = mod
    return encode(_strip(obj))


def _strip(v):
    # fixture JSON carries client-side decorations (e.g. Memo.parsed_memo_type): not ledger fields
    if isinstance(v, dict):
        return {k: _strip(x) for k, x in v.items() if not k.startswith("parsed_")}
    if isinstance(v, list):
        return [_strip(x) for x in v]
    return v


def encode_tx(tx):
    encode = _encode

    tx = dict(tx)
    meta = tx.pop("metaData", None) or tx.pop("meta")
    txid = tx.pop("hash", None)
    return bytes.fromhex(encode(tx)), bytes.fromhex(encode(meta)), txid


def encode_state(entry):
    encode = _encode

    e = dict(entry)
    key = bytes.fromhex(e.pop("index"))
    return key, bytes.fromhex(encode(e))


def real_header(name, d, path, extra=""):
    b = bytes.fromhex
    doc = header_doc("sha512half", int(d["ledger_index"]), int(d["total_coins"]), b(d["parent_hash"]),
                     b(d["transaction_hash"]), b(d["account_hash"]), int(d["parent_close_time"]),
                     int(d["close_time"]), int(d["close_time_resolution"]), int(d.get("close_flags", 0)))
    want = (d.get("ledger_hash") or d["hash"]).lower()
    if doc["hash"][2:] != want:
        raise SystemExit("real header %s does not hash to %s (got %s)" % (name, want, doc["hash"]))
    emit("xrpl-ledger-header", name, doc, True, src(path, extra))
    return doc


def real(repo):
    P = "packages/xrpl/test/fixtures/"
    B = "packages/ripple-binary-codec/test/fixtures/"
    # -- ledger 38129 (one transaction, full account state)
    l38 = git_json(repo, P + "responses/getLedgerFull.json")
    h38 = real_header("mainnet-38129", l38, P + "responses/getLedgerFull.json")
    # -- ledger 40000 (no transactions, full state); parent_close_time / close_flags from binary-codec fixture
    l40 = git_json(repo, B + "ledger-full-40000.json")
    real_header("mainnet-40000", l40, B + "ledger-full-40000.json")
    # (rippled/ledger.json, ledger 9038214, is a mock: its fields do not hash to its ledger_hash)
    l15 = git_json(repo, P + "requests/hashLedger.json")
    real_header("mainnet-15202439", l15, P + "requests/hashLedger.json")
    # 7501326: the fixture lacks parent_close_time and close_flags; recover them from the hash
    l75 = dict(git_json(repo, P + "rippled/ledgerFull7501326.json"))
    found = None
    for flags in (0, 1):
        for dt in range(0, 600):
            l75["parent_close_time"], l75["close_flags"] = int(l75["close_time"]) - dt, flags
            try:
                hh = header_doc("sha512half", int(l75["ledger_index"]), int(l75["total_coins"]),
                                bytes.fromhex(l75["parent_hash"]), bytes.fromhex(l75["transaction_hash"]),
                                bytes.fromhex(l75["account_hash"]), l75["parent_close_time"],
                                int(l75["close_time"]), int(l75["close_time_resolution"]), flags)
            except ValueError:
                continue
            if hh["hash"][2:] == l75["ledger_hash"].lower():
                found = (dt, flags)
                break
        if found:
            break
    if found:
        real_header("mainnet-7501326", l75, P + "rippled/ledgerFull7501326.json",
                    " (parent_close_time = close_time - %d and close_flags = %d are absent from the fixture;"
                    " recovered by matching the recorded ledger hash)" % found)
    else:
        print("warning: could not recover parent_close_time of 7501326")

    # invalid headers built from real 38129
    bad = dict(h38)
    bad["seq"] = h38["seq"] + 1
    emit("xrpl-ledger-header", "mainnet-38129-wrong-seq", bad, False,
         "mainnet-38129 with seq+1 (hash left as recorded)")
    bad = dict(h38)
    bad["hash"] = "0x" + "e6db7365949bf9814d76bcc730b01818eb9136a89db224f3f9f5aae4569d758f"
    emit("xrpl-ledger-header", "mainnet-38129-wrong-hash", bad, False,
         "mainnet-38129 with the last byte of the hash changed")
    bad = dict(h38)
    bad["hash_alg"] = "sm3"
    emit("xrpl-ledger-header", "mainnet-38129-claimed-sm3", bad, False,
         "mainnet-38129 (SHA-512Half hash) labelled hash_alg sm3")
    bad = dict(h38)
    bad["transaction_hash"], bad["account_hash"] = h38["account_hash"], h38["transaction_hash"]
    emit("xrpl-ledger-header", "mainnet-38129-roots-swapped", bad, False,
         "mainnet-38129 with transaction_hash and account_hash swapped")

    # -- transaction proofs against real transaction_hash roots
    def tx_map(txs, want_root, lname):
        m = SHAMap("sha512half")
        ids = []
        for t in txs:
            tx, meta, txid = encode_tx(t)
            k = m.add_tx(tx, meta)
            if txid and k.hex().upper() != txid.upper():
                raise SystemExit("%s: txid mismatch %s" % (lname, txid))
            ids.append(k)
        r = m.build()
        if r.hex().upper() != want_root.upper():
            raise SystemExit("%s: tx root %s != %s" % (lname, r.hex(), want_root))
        return m, ids

    m38, ids38 = tx_map(l38["transactions"], l38["transaction_hash"], "38129")
    emit("xrpl-shamap", "mainnet-38129-tx", shamap_doc("sha512half", m38, ids38[0]), True,
         src(P + "responses/getLedgerFull.json",
             " (tx 3B1A4E1C…53EF; root = ledger 38129 transaction_hash; lone leaf under the root)"))
    m75, ids75 = tx_map(l75["transactions"], l75["transaction_hash"], "7501326")
    txs15 = git_json(repo, P + "requests/hashLedgerTransactions.json")
    m15, ids15 = tx_map(txs15, l15["transaction_hash"], "15202439")
    for lname, m, ids, path in (("7501326", m75, ids75, P + "rippled/ledgerFull7501326.json"),
                                ("15202439", m15, ids15, P + "requests/hashLedgerTransactions.json")):
        cands = sorted(ids, key=lambda k: (-m.depth_of(k), len(json.dumps(shamap_doc("sha512half", m, k)))))
        n = 0
        for k in cands:
            doc = shamap_doc("sha512half", m, k)
            if len(json.dumps(doc, indent=1)) >= MAX_FILE - 100:
                continue
            emit("xrpl-shamap", "mainnet-%s-tx-%s" % (lname, k.hex()[:8]), doc, True,
                 src(path, " (ledger %s, %d transactions; tx %s; depth %d; root = its transaction_hash)"
                     % (lname, len(ids), k.hex()[:16].upper(), m.depth_of(k))))
            n += 1
            if n == 2:
                break
        print("ledger %s: %d txs, depths %s" % (lname, len(ids), sorted(m.depth_of(k) for k in ids)))

    # -- state proofs against real account_hash roots
    def state_map(entries, want_root, lname):
        m = SHAMap("sha512half")
        for e in entries:
            k, data = encode_state(e)
            m.add_state(k, data)
        r = m.build()
        if r.hex().upper() != want_root.upper():
            raise SystemExit("%s: state root %s != %s" % (lname, r.hex(), want_root))
        return m

    s38 = state_map(l38["rawState"] if isinstance(l38.get("rawState"), list) else json.loads(l38["rawState"]),
                    l38["account_hash"], "38129")
    depths = {}
    for k in sorted(s38.items):
        depths.setdefault(s38.depth_of(k), []).append(k)
    print("ledger 38129 state: %d items, depths %s" % (len(s38.items), {d: len(v) for d, v in depths.items()}))
    for dep in sorted(depths):
        k = depths[dep][0]
        if len(json.dumps(shamap_doc("sha512half", s38, k), indent=1)) >= MAX_FILE:
            print("skip 38129 state depth %d (%s): proof exceeds 16 KB" % (dep, k.hex().upper()))
            continue
        emit("xrpl-shamap", "mainnet-38129-state-d%d" % dep, shamap_doc("sha512half", s38, k), True,
             src(P + "responses/getLedgerFull.json",
                 " (rawState entry %s; depth %d; root = ledger 38129 account_hash)" % (k.hex()[:16].upper(), dep)))
    s40 = state_map(l40["accountState"], l40["account_hash"], "40000")
    k = max((k for k in sorted(s40.items)
             if len(json.dumps(shamap_doc("sha512half", s40, k), indent=1)) < MAX_FILE - 500), key=s40.depth_of)
    emit("xrpl-shamap", "mainnet-40000-state-d%d" % s40.depth_of(k), shamap_doc("sha512half", s40, k), True,
         src(B + "ledger-full-40000.json",
             " (accountState entry %s; root = ledger 40000 account_hash)" % k.hex()[:16].upper()))

    # invalid shamap vectors from real data
    k = ids38[0]
    doc = shamap_doc("sha512half", m38, k)
    bad = json.loads(json.dumps(doc))
    bad["root"] = h38["account_hash"]
    emit("xrpl-shamap", "mainnet-38129-tx-against-account-hash", bad, False,
         "mainnet-38129 tx proof claiming the ledger's account_hash as root")
    bad = json.loads(json.dumps(doc))
    bad["hash_alg"] = "sm3"
    emit("xrpl-shamap", "mainnet-38129-tx-claimed-sm3", bad, False,
         "mainnet-38129 tx proof labelled hash_alg sm3")
    # a tx leaf re-keyed (wrong txid) but with a self-consistent tree: only the txid rule rejects it
    wrong = bytearray(k)
    wrong[0] ^= 0x10  # the lone leaf moves with its key, so the tree stays self-consistent
    wk = bytes(wrong)
    leaf = m38.items[k]
    mw = SHAMap("sha512half")
    mw.items[wk] = leaf
    mw.build()
    emit("xrpl-shamap", "mainnet-38129-tx-wrong-key", shamap_doc("sha512half", mw, wk), False,
         "mainnet-38129 tx+meta under a key that is not its txid (tree and root recomputed consistently)")
    # leaf moved to a wrong slot of the root, root recomputed
    node = [ZERO] * 16
    slot = (nibble(k, 0) + 1) % 16
    node[slot] = leaf_hash("sha512half", k, leaf)
    emit("xrpl-shamap", "mainnet-38129-tx-wrong-slot",
         shamap_doc("sha512half", m38, k, root=inner_hash("sha512half", node), proof=[node]), False,
         "mainnet-38129 tx leaf put in root slot %X instead of %X (root recomputed)" % (slot, nibble(k, 0)))
    # empty proof: root = leaf hash (the SHAMap root is always an inner node)
    emit("xrpl-shamap", "mainnet-38129-tx-empty-proof",
         shamap_doc("sha512half", m38, k, root=leaf_hash("sha512half", k, leaf), proof=[]), False,
         "mainnet-38129 tx leaf claimed to be the root itself (empty proof)")


# ---------------------------------------------------------------- generated data


def gen(rng):
    for alg in ("sha512half", "sm3"):
        tag = "sha" if alg == "sha512half" else "sm3"
        # ---- state map, ~300 items, plus a pair sharing a 5-nibble prefix (deep chain)
        m = SHAMap(alg)
        for _ in range(300):
            m.add_state(rng.randbytes(32), rng.randbytes(rng.randint(20, 140)))
        base = rng.randbytes(32)
        twin = bytearray(base)
        twin[2] ^= 0x01  # share the first 5 nibbles
        m.add_state(base, rng.randbytes(60))
        m.add_state(bytes(twin), rng.randbytes(60))
        m.add_state(rng.randbytes(32), b"")  # empty data item
        root = m.build()
        by_depth = {}
        for k in sorted(m.items):
            by_depth.setdefault(m.depth_of(k), []).append(k)
        print("gen %s state: %d items, depths %s" % (alg, len(m.items), {d: len(v) for d, v in sorted(by_depth.items())}))
        picks = []
        for dep in sorted(by_depth):
            if dep >= 2:
                picks.append(by_depth[dep][0])
        picks.append(base)
        empty_k = [k for k in m.items if m.items[k]["data"] == b""][0]
        picks.append(empty_k)
        seen = set()
        for k in picks:
            if k in seen:
                continue
            seen.add(k)
            dep = m.depth_of(k)
            nm = "gen-%s-state-d%d-%s" % (tag, dep, k.hex()[:8])
            emit("xrpl-shamap", nm, shamap_doc(alg, m, k), True,
                 "generated (gen/xrpl.py, seed 38129): %s state map of %d random items, leaf depth %d%s"
                 % (alg, len(m.items), dep, ", empty data" if k == empty_k else ""))
        # invalids on the state map
        k = by_depth.get(3, by_depth[2])[0]
        doc = shamap_doc(alg, m, k)
        prf = m.proof(k)
        dep = len(prf)
        # wrong data
        bad = json.loads(json.dumps(doc))
        bad["leaf"]["data"] = hx(m.items[k]["data"] + b"\x00")
        emit("xrpl-shamap", "gen-%s-state-wrong-data" % tag, bad, False,
             "generated: %s state proof with one byte appended to the data" % alg)
        # wrong slot: move the leaf to another (empty) slot of its parent; hashes recomputed to the root
        p0 = list(prf[0])
        s = nibble(k, dep - 1)
        t = next(i for i in range(16) if p0[i] == ZERO)
        p0[t], p0[s] = p0[s], ZERO
        newp = [p0]
        cur = inner_hash(alg, p0)
        for i, node in enumerate(prf[1:], 1):
            n2 = list(node)
            n2[nibble(k, dep - 1 - i)] = cur
            newp.append(n2)
            cur = inner_hash(alg, n2)
        emit("xrpl-shamap", "gen-%s-state-wrong-slot" % tag, shamap_doc(alg, m, k, root=cur, proof=newp), False,
             "generated: %s state leaf moved from slot %X to empty slot %X of its parent (depth %d), all hashes "
             "recomputed up to the claimed root" % (alg, s, t, dep))
        # proof with the root level dropped (claims the depth-1 node is the root)
        emit("xrpl-shamap", "gen-%s-state-truncated" % tag,
             shamap_doc(alg, m, k, root=inner_hash(alg, prf[-2]), proof=prf[:-1]), False,
             "generated: %s state proof with its root node dropped and root = hash of the depth-1 node" % alg)
        # a proof of another key's leaf data under this key
        other = by_depth[2][0] if by_depth[2][0] != k else by_depth[2][1]
        bad = json.loads(json.dumps(doc))
        bad["leaf"]["data"] = hx(m.items[other]["data"])
        emit("xrpl-shamap", "gen-%s-state-other-data" % tag, bad, False,
             "generated: %s state proof of key %s carrying another item's data" % (alg, k.hex()[:8]))
        # a node in the path with 15 children
        bad = json.loads(json.dumps(doc))
        bad["proof"][0] = bad["proof"][0][:15]
        emit("xrpl-shamap", "gen-%s-state-15-children" % tag, bad, False,
             "generated: %s state proof whose first inner node lists 15 children" % alg, malformed=True)

        # ---- tx map: 40 random tx/meta blobs incl. VL boundary lengths
        mt = SHAMap(alg)
        special = []
        for i in range(40):
            tl = rng.randint(100, 400)
            ml = rng.randint(100, 700)
            if i == 0:
                tl, ml = 192, 193  # VL: 1-byte max / 2-byte min
            if i == 1:
                tl, ml = 0, 1  # degenerate lengths
            if i == 2:
                tl, ml = 3000, 500  # 2-byte VL; hex still fits under 16 KB
            k = mt.add_tx(rng.randbytes(tl), rng.randbytes(ml))
            if i < 3:
                special.append(k)
        mt.build()
        tdepths = {}
        for k in sorted(mt.items):
            tdepths.setdefault(mt.depth_of(k), []).append(k)
        print("gen %s tx: %d items, depths %s" % (alg, len(mt.items), {d: len(v) for d, v in sorted(tdepths.items())}))
        picks = special + [tdepths[max(tdepths)][0]]
        seen = set()
        for k in picks:
            if k in seen:
                continue
            seen.add(k)
            it = mt.items[k]
            emit("xrpl-shamap", "gen-%s-tx-d%d-%s" % (tag, mt.depth_of(k), k.hex()[:8]), shamap_doc(alg, mt, k), True,
                 "generated: %s tx map of %d random tx/meta blobs; tx %d B, meta %d B, depth %d"
                 % (alg, len(mt.items), len(it["tx"]), len(it["meta"]), mt.depth_of(k)))
        k = special[0]
        doc = shamap_doc(alg, mt, k)
        # wrong key for the tx: tree built with a wrong key, consistent hashes
        mw = SHAMap(alg)
        for kk, it in mt.items.items():
            if kk != k:
                mw.items[kk] = it
        wk = bytearray(k)
        wk[31] ^= 0x01
        wk = bytes(wk)
        mw.items[wk] = mt.items[k]
        mw.build()
        emit("xrpl-shamap", "gen-%s-tx-wrong-key" % tag, shamap_doc(alg, mw, wk), False,
             "generated: %s tx map where one tx sits under txid^1 (tree/root consistent; key is not H(TXN|tx))" % alg)
        # tx with meta swapped to the state encoding: leaf given as data = VL(tx)|VL(meta)
        it = mt.items[k]
        bad = json.loads(json.dumps(doc))
        bad["leaf"] = {"data": hx(vl(len(it["tx"])) + it["tx"] + vl(len(it["meta"])) + it["meta"])}
        emit("xrpl-shamap", "gen-%s-tx-as-state" % tag, bad, False,
             "generated: %s tx leaf re-labelled as a state item (MLN instead of SND prefix)" % alg)
        bad = json.loads(json.dumps(doc))
        bad["leaf"]["meta"] = hx(it["meta"][:-1])
        emit("xrpl-shamap", "gen-%s-tx-short-meta" % tag, bad, False,
             "generated: %s tx proof with the last metadata byte removed" % alg)

        # ---- ledger headers
        for i in range(2):
            seq = rng.randint(1, 2**32 - 1) if i else 1
            doc = header_doc(alg, seq, rng.randint(0, 10**17) if i else 10**17, rng.randbytes(32) if i else ZERO,
                             mt.root_hash if i else ZERO, m.root_hash, rng.randint(0, 2**32 - 1), rng.randint(0, 2**32 - 1),
                             rng.choice([10, 20, 30, 60, 90, 120]), rng.randint(0, 1) if i else 0)
            emit("xrpl-ledger-header", "gen-%s-%d" % (tag, i), doc, True,
                 "generated: %s header%s" % (alg, " (random fields; tx/state roots of the generated %s maps)" % alg
                                             if i else " (seq 1, zero parent/tx roots, 10^17 drops)"))
        d = dict(doc)
        d["close_time_resolution"] ^= 0x01
        emit("xrpl-ledger-header", "gen-%s-wrong-resolution" % tag, d, False,
             "generated: %s header gen-%s-1 with close_time_resolution changed" % (alg, tag))
        d = dict(doc)
        d["total_coins"] = str(2**64)
        emit("xrpl-ledger-header", "gen-%s-coins-overflow" % tag, d, False,
             "generated: %s header with total_coins = 2^64 (does not fit u64)" % alg, malformed=True)
    # max values header
    doc = header_doc("sha512half", 2**32 - 1, 2**64 - 1, b"\xff" * 32, b"\xff" * 32, b"\xff" * 32,
                     2**32 - 1, 2**32 - 1, 255, 255)
    emit("xrpl-ledger-header", "gen-sha-max", doc, True, "generated: every field at its maximum value")


def check_all():
    n = 0
    for fmt, ver in (("xrpl-ledger-header", verify_header), ("xrpl-shamap", verify_shamap)):
        d = os.path.join(VEC, fmt)
        for root, _, files in os.walk(d):
            for fn in sorted(files):
                if not fn.endswith(".json"):
                    continue
                p = os.path.join(root, fn)
                doc = json.load(open(p))
                try:
                    ok = ver(doc)
                except (ValueError, KeyError, TypeError):
                    ok = False
                want = os.path.basename(root) != "invalid"
                if ok != want or os.path.getsize(p) >= MAX_FILE:
                    raise SystemExit("check failed: %s" % p)
                n += 1
    print("checked %d vectors" % n)


def main():
    if "--real" in sys.argv:
        real(sys.argv[sys.argv.index("--real") + 1])
    gen(random.Random(38129))
    write_sources()
    check_all()


if __name__ == "__main__":
    main()
