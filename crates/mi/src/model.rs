//! The sparse linear coding model and its compact, versioned binary file.
//!
//! Two weight tables share the hashed feature space of [`crate::features`]:
//!
//! - therapist table, 8 outputs per bucket: 4 logits of the main behaviour (softmax over
//!   question, reflection, therapist_input, other), then 4 independent logistic outputs:
//!   question exists, question is open (vs closed), reflection exists, reflection is complex
//!   (vs simple). Because "question exists" and "reflection exists" are separate classifiers, one
//!   utterance can be coded as both a question and a reflection;
//! - client table, 3 logits: change, neutral, sustain talk.
//!
//! File layout (little-endian): magic `CONCMI01`, the [`FeatureConfig`], training seed (u64) and
//! number of training utterances (u32), then per table: outputs (u32), biases (f32 each), a scale
//! (f32) and the weights quantised to i16 (`w = q * scale`, bucket-major), and finally an FNV-1a
//! checksum (u64) of everything before it. Quantisation happens when training finishes, so the
//! weights in memory after training are exactly the weights a saved file loads back.

use std::path::Path;

use crate::features::{FeatureConfig, SparseVec};

/// Outputs of the therapist table.
pub const THERAPIST_OUTPUTS: usize = 8;
/// Output offsets in the therapist table.
pub const OUT_BEHAVIOUR: usize = 0;
pub const OUT_QUESTION_EXISTS: usize = 4;
pub const OUT_QUESTION_OPEN: usize = 5;
pub const OUT_REFLECTION_EXISTS: usize = 6;
pub const OUT_REFLECTION_COMPLEX: usize = 7;
/// Outputs of the client table.
pub const CLIENT_OUTPUTS: usize = 3;

const MAGIC: &[u8; 8] = b"CONCMI01";

/// Errors loading or saving a model.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    #[error("model file is empty (no model has been trained into it)")]
    Empty,
    #[error("not a Concord MI model file (bad magic bytes)")]
    BadMagic,
    #[error("model file is truncated or has trailing bytes")]
    Truncated,
    #[error("model file checksum mismatch (corrupted file)")]
    Checksum,
    #[error("model file has an invalid feature configuration")]
    InvalidConfig,
    #[error("model file has an unexpected table shape")]
    BadShape,
    #[error("model file io: {0}")]
    Io(String),
}

/// One weight table: `outputs` values per hash bucket plus a bias per output.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    outputs: usize,
    bias: Vec<f32>,
    scale: f32,
    quantised: Vec<i16>,
    weights: Vec<f32>,
}

impl Table {
    /// Quantise trained float weights (`buckets * outputs`, bucket-major) into a table.
    pub(crate) fn from_f32(outputs: usize, bias: Vec<f32>, weights: &[f32]) -> Table {
        let max_abs = weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = if max_abs > 0.0 && max_abs.is_finite() { max_abs / f32::from(i16::MAX) } else { 1.0 };
        let quantised: Vec<i16> = weights
            .iter()
            .map(|w| {
                let q = (w / scale).round();
                if q.is_nan() {
                    0
                } else {
                    // Clamped to the i16 range, so the cast is exact.
                    q.clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
                }
            })
            .collect();
        Table::from_quantised(outputs, bias, scale, quantised)
    }

    fn from_quantised(outputs: usize, bias: Vec<f32>, scale: f32, quantised: Vec<i16>) -> Table {
        let weights = quantised.iter().map(|&q| f32::from(q) * scale).collect();
        Table { outputs, bias, scale, quantised, weights }
    }

    /// Add `bias + w·x` into `out` (length `outputs`).
    #[inline]
    pub fn score(&self, x: &SparseVec, out: &mut [f32]) {
        for (o, b) in out.iter_mut().zip(&self.bias) {
            *o = *b;
        }
        let k = self.outputs;
        for &(idx, v) in x {
            let start = idx as usize * k;
            if let Some(row) = self.weights.get(start..start + k) {
                for (o, w) in out.iter_mut().zip(row) {
                    *o += w * v;
                }
            }
        }
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }
}

/// A trained coder model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub(crate) config: FeatureConfig,
    pub(crate) seed: u64,
    pub(crate) trained_utterances: u32,
    pub(crate) therapist: Table,
    pub(crate) client: Table,
}

impl Model {
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// The seed the model was trained with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of utterances the model was trained on.
    pub fn trained_utterances(&self) -> u32 {
        self.trained_utterances
    }

    pub fn therapist_table(&self) -> &Table {
        &self.therapist
    }

    pub fn client_table(&self) -> &Table {
        &self.client
    }

    /// Serialise to the binary model format (deterministic).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 2 * self.config.buckets() * (THERAPIST_OUTPUTS + CLIENT_OUTPUTS));
        out.extend_from_slice(MAGIC);
        let c = &self.config;
        out.extend_from_slice(&[c.bucket_bits, c.char_min, c.char_max, 0]);
        for w in [c.word_weight, c.char_weight, c.meta_weight, c.prev1_weight, c.prev2_weight, c.next1_weight] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.seed.to_le_bytes());
        out.extend_from_slice(&self.trained_utterances.to_le_bytes());
        for t in [&self.therapist, &self.client] {
            let outputs = u32::try_from(t.outputs).unwrap_or(u32::MAX);
            out.extend_from_slice(&outputs.to_le_bytes());
            for b in &t.bias {
                out.extend_from_slice(&b.to_le_bytes());
            }
            out.extend_from_slice(&t.scale.to_le_bytes());
            for q in &t.quantised {
                out.extend_from_slice(&q.to_le_bytes());
            }
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Load from the binary model format, validating every length and the checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.is_empty() {
            return Err(ModelError::Empty);
        }
        let body_len = bytes.len().checked_sub(8).ok_or(ModelError::Truncated)?;
        let (body, sum) = bytes.split_at(body_len);
        let mut r = Reader { bytes: body };
        if r.take(8)? != MAGIC.as_slice() {
            return Err(ModelError::BadMagic);
        }
        let expected = u64::from_le_bytes(sum.try_into().map_err(|_| ModelError::Truncated)?);
        if fnv1a(body) != expected {
            return Err(ModelError::Checksum);
        }
        let head = r.take(4)?;
        let (bits, cmin, cmax) = match head {
            [a, b, c, _] => (*a, *b, *c),
            _ => return Err(ModelError::Truncated),
        };
        let config = FeatureConfig {
            bucket_bits: bits,
            char_min: cmin,
            char_max: cmax,
            word_weight: r.f32()?,
            char_weight: r.f32()?,
            meta_weight: r.f32()?,
            prev1_weight: r.f32()?,
            prev2_weight: r.f32()?,
            next1_weight: r.f32()?,
        };
        if !config.is_valid() {
            return Err(ModelError::InvalidConfig);
        }
        let seed = r.u64()?;
        let trained_utterances = r.u32()?;
        let therapist = r.table(config.buckets(), THERAPIST_OUTPUTS)?;
        let client = r.table(config.buckets(), CLIENT_OUTPUTS)?;
        if !r.bytes.is_empty() {
            return Err(ModelError::Truncated);
        }
        Ok(Model { config, seed, trained_utterances, therapist, client })
    }

    /// Write the model file.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        std::fs::write(path, self.to_bytes()).map_err(|e| ModelError::Io(format!("{}: {e}", path.display())))
    }

    /// Read a model file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::Io(format!("{}: {e}", path.display())))?;
        Model::from_bytes(&bytes)
    }
}

/// FNV-1a 64 over bytes (the file checksum).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        if self.bytes.len() < n {
            return Err(ModelError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ModelError> {
        self.take(N)?.try_into().map_err(|_| ModelError::Truncated)
    }

    fn f32(&mut self) -> Result<f32, ModelError> {
        Ok(f32::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn table(&mut self, buckets: usize, outputs: usize) -> Result<Table, ModelError> {
        if usize::try_from(self.u32()?).ok() != Some(outputs) {
            return Err(ModelError::BadShape);
        }
        let mut bias = Vec::with_capacity(outputs);
        for _ in 0..outputs {
            let b = self.f32()?;
            if !b.is_finite() {
                return Err(ModelError::BadShape);
            }
            bias.push(b);
        }
        let scale = self.f32()?;
        if !scale.is_finite() || scale <= 0.0 {
            return Err(ModelError::BadShape);
        }
        let n = buckets.checked_mul(outputs).ok_or(ModelError::BadShape)?;
        let raw = self.take(n.checked_mul(2).ok_or(ModelError::BadShape)?)?;
        let quantised = raw
            .chunks_exact(2)
            .map(|c| match c {
                [a, b] => i16::from_le_bytes([*a, *b]),
                _ => 0,
            })
            .collect();
        Ok(Table::from_quantised(outputs, bias, scale, quantised))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Model {
        let config = FeatureConfig { bucket_bits: 8, ..FeatureConfig::default() };
        let n = config.buckets();
        let tw: Vec<f32> = (0..n * THERAPIST_OUTPUTS).map(|i| ((i % 17) as f32 - 8.0) / 10.0).collect();
        let cw: Vec<f32> = (0..n * CLIENT_OUTPUTS).map(|i| ((i % 7) as f32 - 3.0) / 3.0).collect();
        Model {
            config,
            seed: 42,
            trained_utterances: 3,
            therapist: Table::from_f32(THERAPIST_OUTPUTS, vec![0.1; THERAPIST_OUTPUTS], &tw),
            client: Table::from_f32(CLIENT_OUTPUTS, vec![-0.2; CLIENT_OUTPUTS], &cw),
        }
    }

    #[test]
    fn round_trips_exactly() {
        let m = tiny();
        let bytes = m.to_bytes();
        let back = Model::from_bytes(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn quantisation_is_close() {
        let w = [0.5f32, -1.25, 0.0, 3.0];
        let t = Table::from_f32(2, vec![0.0, 0.0], &w);
        for (a, b) in t.weights.iter().zip(w) {
            assert!((a - b).abs() < 1e-3);
        }
    }

    #[test]
    fn rejects_corruption() {
        let bytes = tiny().to_bytes();
        assert_eq!(Model::from_bytes(&[]), Err(ModelError::Empty));
        assert_eq!(Model::from_bytes(&bytes[..20]), Err(ModelError::Checksum));
        assert_eq!(Model::from_bytes(b"short"), Err(ModelError::Truncated));
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(Model::from_bytes(&bad), Err(ModelError::BadMagic));
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 1;
        assert_eq!(Model::from_bytes(&flipped), Err(ModelError::Checksum));
        for cut in [9, 30, 100, bytes.len() - 1] {
            assert!(Model::from_bytes(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn score_adds_bias_and_weights() {
        let t = Table::from_f32(2, vec![1.0, -1.0], &[0.5, 0.25, 2.0, -2.0]);
        let mut out = [0.0; 2];
        t.score(&vec![(1, 1.0), (0, 2.0), (99, 5.0)], &mut out);
        assert!((out[0] - (1.0 + 2.0 + 1.0)).abs() < 1e-3);
        assert!((out[1] - (-1.0 - 2.0 + 0.5)).abs() < 1e-3);
    }

    proptest::proptest! {
        #[test]
        fn loading_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = Model::from_bytes(&bytes);
            let mut valid = tiny().to_bytes();
            valid.truncate(bytes.len().min(valid.len()));
            let _ = Model::from_bytes(&valid);
        }
    }
}
