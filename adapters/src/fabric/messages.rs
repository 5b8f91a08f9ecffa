//! The Fabric messages the adapter reads and the mock writes, with their real field numbers.
//! Only the fields Meridian needs are kept; unknown fields are skipped on decoding.

use super::proto::{put_bytes, put_opt_bytes, put_uint, Msg};
use crate::AdapterError;

/// `common.BlockHeader` (1 number, 2 previous_hash, 3 data_hash).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockHeader {
    /// Block number.
    pub number: u64,
    /// Header hash of the previous block (empty for the genesis block).
    pub previous_hash: Vec<u8>,
    /// SHA-256 of the concatenated envelopes.
    pub data_hash: Vec<u8>,
}

impl BlockHeader {
    /// Protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::new();
        put_uint(&mut o, 1, self.number);
        put_opt_bytes(&mut o, 2, &self.previous_hash);
        put_opt_bytes(&mut o, 3, &self.data_hash);
        o
    }

    /// Decode protobuf bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let m = Msg::parse("block header", b)?;
        Ok(BlockHeader {
            number: m.uint(1)?,
            previous_hash: m.bytes(2)?.to_vec(),
            data_hash: m.bytes(3)?.to_vec(),
        })
    }

    /// `protoutil.BlockHeaderBytes`: the ASN.1 DER form orderers sign and hash.
    pub fn der(&self) -> Vec<u8> {
        meridian_proofs::fabric::header_der(self.number, &self.previous_hash, &self.data_hash)
    }

    /// `protoutil.BlockHeaderHash`: SHA-256 of the DER form.
    pub fn hash(&self) -> [u8; 32] {
        meridian_proofs::fabric::header_hash(self.number, &self.previous_hash, &self.data_hash)
    }
}

/// `common.Block` (1 header, 2 data = BlockData{1 repeated bytes}, 3 metadata =
/// BlockMetadata{1 repeated bytes}).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The envelopes (omitted in `Evidence.header`).
    pub data: Vec<Vec<u8>>,
    /// The metadata entries by index (0 SIGNATURES, 1 LAST_CONFIG, 2 TRANSACTIONS_FILTER, …).
    pub metadata: Vec<Vec<u8>>,
}

/// `common.BlockData` bytes of some envelopes.
pub fn encode_block_data(data: &[Vec<u8>]) -> Vec<u8> {
    let mut o = Vec::new();
    for d in data {
        put_bytes(&mut o, 1, d);
    }
    o
}

/// The envelopes of a `common.BlockData`.
pub fn decode_block_data(b: &[u8]) -> Result<Vec<Vec<u8>>, AdapterError> {
    Ok(Msg::parse("block data", b)?
        .all_bytes(1)?
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect())
}

impl Block {
    /// Protobuf bytes (the data field is written only when there are envelopes).
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::new();
        put_bytes(&mut o, 1, &self.header.encode());
        if !self.data.is_empty() {
            put_bytes(&mut o, 2, &encode_block_data(&self.data));
        }
        let mut md = Vec::new();
        for m in &self.metadata {
            put_bytes(&mut md, 1, m);
        }
        put_bytes(&mut o, 3, &md);
        o
    }

    /// Decode protobuf bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let m = Msg::parse("block", b)?;
        let md = Msg::parse("block metadata", m.bytes(3)?)?;
        Ok(Block {
            header: BlockHeader::decode(m.bytes(1)?)?,
            data: decode_block_data(m.bytes(2)?)?,
            metadata: md.all_bytes(1)?.into_iter().map(<[u8]>::to_vec).collect(),
        })
    }
}

/// `common.MetadataSignature` (1 signature_header, 2 signature).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataSignature {
    /// A `common.SignatureHeader`.
    pub signature_header: Vec<u8>,
    /// DER ECDSA signature.
    pub signature: Vec<u8>,
}

/// `common.Metadata` (1 value, 2 repeated signatures).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The value (for SIGNATURES: `OrdererBlockMetadata`).
    pub value: Vec<u8>,
    /// Orderer signatures.
    pub signatures: Vec<MetadataSignature>,
}

impl Metadata {
    /// Protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::new();
        put_opt_bytes(&mut o, 1, &self.value);
        for s in &self.signatures {
            let mut e = Vec::new();
            put_opt_bytes(&mut e, 1, &s.signature_header);
            put_opt_bytes(&mut e, 2, &s.signature);
            put_bytes(&mut o, 2, &e);
        }
        o
    }

    /// Decode protobuf bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let m = Msg::parse("metadata", b)?;
        let signatures = m
            .all_bytes(2)?
            .into_iter()
            .map(|s| {
                let s = Msg::parse("metadata signature", s)?;
                Ok(MetadataSignature {
                    signature_header: s.bytes(1)?.to_vec(),
                    signature: s.bytes(2)?.to_vec(),
                })
            })
            .collect::<Result<_, AdapterError>>()?;
        Ok(Metadata {
            value: m.bytes(1)?.to_vec(),
            signatures,
        })
    }
}

/// `msp.SerializedIdentity` (1 mspid, 2 id_bytes). Meridian's simplification: `id_bytes` is
/// the member's SEC1 P-256 public key, not a PEM X.509 certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The MSP (organization) id.
    pub mspid: String,
    /// SEC1 public key bytes.
    pub id_bytes: Vec<u8>,
}

impl Identity {
    /// Protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::new();
        put_opt_bytes(&mut o, 1, self.mspid.as_bytes());
        put_opt_bytes(&mut o, 2, &self.id_bytes);
        o
    }

    /// Decode protobuf bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let m = Msg::parse("serialized identity", b)?;
        Ok(Identity {
            mspid: m.string(1)?,
            id_bytes: m.bytes(2)?.to_vec(),
        })
    }
}

/// `common.SignatureHeader` (1 creator, 2 nonce).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureHeader {
    /// A serialized [`Identity`].
    pub creator: Vec<u8>,
    /// Random nonce.
    pub nonce: Vec<u8>,
}

impl SignatureHeader {
    /// Protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::new();
        put_opt_bytes(&mut o, 1, &self.creator);
        put_opt_bytes(&mut o, 2, &self.nonce);
        o
    }

    /// Decode protobuf bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let m = Msg::parse("signature header", b)?;
        Ok(SignatureHeader {
            creator: m.bytes(1)?.to_vec(),
            nonce: m.bytes(2)?.to_vec(),
        })
    }
}

/// `common.ChannelHeader` (1 type, 4 channel_id, 5 tx_id; others skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelHeader {
    /// `HeaderType` (3 = ENDORSER_TRANSACTION).
    pub typ: u64,
    /// The channel.
    pub channel_id: String,
    /// The transaction id: hex(sha256(nonce ‖ creator)).
    pub tx_id: String,
}

/// `HeaderType.ENDORSER_TRANSACTION`.
pub const ENDORSER_TRANSACTION: u64 = 3;

impl ChannelHeader {
    /// Protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::new();
        put_uint(&mut o, 1, self.typ);
        put_opt_bytes(&mut o, 4, self.channel_id.as_bytes());
        put_opt_bytes(&mut o, 5, self.tx_id.as_bytes());
        o
    }

    /// Decode protobuf bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let m = Msg::parse("channel header", b)?;
        Ok(ChannelHeader {
            typ: m.uint(1)?,
            channel_id: m.string(4)?,
            tx_id: m.string(5)?,
        })
    }
}

/// `common.Envelope` (1 payload, 2 signature) with its `common.Payload` (1 header =
/// Header{1 channel_header, 2 signature_header}, 2 data) opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// Serialized [`ChannelHeader`].
    pub channel_header: Vec<u8>,
    /// Serialized [`SignatureHeader`] of the submitting client.
    pub signature_header: Vec<u8>,
    /// The payload data (a `peer.Transaction` for endorser transactions).
    pub data: Vec<u8>,
    /// The client's signature over the payload bytes.
    pub signature: Vec<u8>,
}

impl Envelope {
    /// The `common.Payload` bytes.
    pub fn payload(&self) -> Vec<u8> {
        let mut h = Vec::new();
        put_opt_bytes(&mut h, 1, &self.channel_header);
        put_opt_bytes(&mut h, 2, &self.signature_header);
        let mut p = Vec::new();
        put_bytes(&mut p, 1, &h);
        put_opt_bytes(&mut p, 2, &self.data);
        p
    }

    /// Protobuf bytes of the envelope.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::new();
        put_opt_bytes(&mut o, 1, &self.payload());
        put_opt_bytes(&mut o, 2, &self.signature);
        o
    }

    /// Decode protobuf bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let e = Msg::parse("envelope", b)?;
        let p = Msg::parse("payload", e.bytes(1)?)?;
        let h = Msg::parse("payload header", p.bytes(1)?)?;
        Ok(Envelope {
            channel_header: h.bytes(1)?.to_vec(),
            signature_header: h.bytes(2)?.to_vec(),
            data: p.bytes(2)?.to_vec(),
            signature: e.bytes(2)?.to_vec(),
        })
    }
}

/// `peer.Endorsement` (1 endorser, 2 signature).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endorsement {
    /// Serialized [`Identity`] of the endorsing peer.
    pub endorser: Vec<u8>,
    /// DER ECDSA signature over `proposal_response_payload ‖ endorser`.
    pub signature: Vec<u8>,
}

/// One endorsed chaincode action: `peer.Transaction{1 actions: [TransactionAction{1 header,
/// 2 payload = ChaincodeActionPayload{1 chaincode_proposal_payload, 2 action =
/// ChaincodeEndorsedAction{1 proposal_response_payload, 2 endorsements}}}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndorsedAction {
    /// The action's signature header.
    pub header: Vec<u8>,
    /// `peer.ChaincodeProposalPayload` bytes.
    pub proposal_payload: Vec<u8>,
    /// `peer.ProposalResponsePayload` bytes (what endorsers sign).
    pub proposal_response_payload: Vec<u8>,
    /// The endorsements.
    pub endorsements: Vec<Endorsement>,
}

impl EndorsedAction {
    /// The one-action `peer.Transaction` bytes.
    pub fn encode_transaction(&self) -> Vec<u8> {
        let mut cea = Vec::new();
        put_opt_bytes(&mut cea, 1, &self.proposal_response_payload);
        for e in &self.endorsements {
            let mut eb = Vec::new();
            put_opt_bytes(&mut eb, 1, &e.endorser);
            put_opt_bytes(&mut eb, 2, &e.signature);
            put_bytes(&mut cea, 2, &eb);
        }
        let mut cap = Vec::new();
        put_opt_bytes(&mut cap, 1, &self.proposal_payload);
        put_bytes(&mut cap, 2, &cea);
        let mut ta = Vec::new();
        put_opt_bytes(&mut ta, 1, &self.header);
        put_bytes(&mut ta, 2, &cap);
        let mut tx = Vec::new();
        put_bytes(&mut tx, 1, &ta);
        tx
    }

    /// The actions of a `peer.Transaction`.
    pub fn decode_transaction(b: &[u8]) -> Result<Vec<Self>, AdapterError> {
        Msg::parse("transaction", b)?
            .all_bytes(1)?
            .into_iter()
            .map(|ta| {
                let ta = Msg::parse("transaction action", ta)?;
                let cap = Msg::parse("chaincode action payload", ta.bytes(2)?)?;
                let cea = Msg::parse("chaincode endorsed action", cap.bytes(2)?)?;
                let endorsements = cea
                    .all_bytes(2)?
                    .into_iter()
                    .map(|e| {
                        let e = Msg::parse("endorsement", e)?;
                        Ok(Endorsement {
                            endorser: e.bytes(1)?.to_vec(),
                            signature: e.bytes(2)?.to_vec(),
                        })
                    })
                    .collect::<Result<_, AdapterError>>()?;
                Ok(EndorsedAction {
                    header: ta.bytes(1)?.to_vec(),
                    proposal_payload: cap.bytes(1)?.to_vec(),
                    proposal_response_payload: cea.bytes(1)?.to_vec(),
                    endorsements,
                })
            })
            .collect()
    }
}

/// What endorsers sign: `peer.ProposalResponsePayload{1 proposal_hash, 2 extension =
/// ChaincodeAction{1 results, 2 events, 3 response = Response{1 status}, 4 chaincode_id =
/// ChaincodeID{2 name}}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponsePayload {
    /// sha256(channel_header ‖ signature_header ‖ chaincode_proposal_payload).
    pub proposal_hash: Vec<u8>,
    /// The read-write set (opaque here).
    pub results: Vec<u8>,
    /// A serialized [`ChaincodeEvent`] (empty when none).
    pub events: Vec<u8>,
    /// The chaincode's response status (200 = OK).
    pub status: u64,
    /// The chaincode name.
    pub chaincode: String,
}

impl ResponsePayload {
    /// Protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut resp = Vec::new();
        put_uint(&mut resp, 1, self.status);
        let mut ccid = Vec::new();
        put_opt_bytes(&mut ccid, 2, self.chaincode.as_bytes());
        let mut ca = Vec::new();
        put_opt_bytes(&mut ca, 1, &self.results);
        put_opt_bytes(&mut ca, 2, &self.events);
        put_bytes(&mut ca, 3, &resp);
        put_bytes(&mut ca, 4, &ccid);
        let mut o = Vec::new();
        put_opt_bytes(&mut o, 1, &self.proposal_hash);
        put_opt_bytes(&mut o, 2, &ca);
        o
    }

    /// Decode protobuf bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let m = Msg::parse("proposal response payload", b)?;
        let ca = Msg::parse("chaincode action", m.bytes(2)?)?;
        let resp = Msg::parse("response", ca.bytes(3)?)?;
        let ccid = Msg::parse("chaincode id", ca.bytes(4)?)?;
        Ok(ResponsePayload {
            proposal_hash: m.bytes(1)?.to_vec(),
            results: ca.bytes(1)?.to_vec(),
            events: ca.bytes(2)?.to_vec(),
            status: resp.uint(1)?,
            chaincode: ccid.string(2)?,
        })
    }
}

/// `peer.ChaincodeEvent` (1 chaincode_id, 2 tx_id, 3 event_name, 4 payload).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChaincodeEvent {
    /// The emitting chaincode.
    pub chaincode_id: String,
    /// The transaction id.
    pub tx_id: String,
    /// The event name.
    pub event_name: String,
    /// The payload.
    pub payload: Vec<u8>,
}

impl ChaincodeEvent {
    /// Protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::new();
        put_opt_bytes(&mut o, 1, self.chaincode_id.as_bytes());
        put_opt_bytes(&mut o, 2, self.tx_id.as_bytes());
        put_opt_bytes(&mut o, 3, self.event_name.as_bytes());
        put_opt_bytes(&mut o, 4, &self.payload);
        o
    }

    /// Decode protobuf bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let m = Msg::parse("chaincode event", b)?;
        Ok(ChaincodeEvent {
            chaincode_id: m.string(1)?,
            tx_id: m.string(2)?,
            event_name: m.string(3)?,
            payload: m.bytes(4)?.to_vec(),
        })
    }
}
