//! Hashed sparse features for one utterance in its dialogue context.
//!
//! Every utterance yields three *groups* of hashed features, computed once:
//!
//! - `words`: lowercased word unigrams and bigrams (with sentence-boundary tokens, so the first
//!   and last words are features of their own), `?`/`!` as tokens, digits folded to `0`;
//! - `chars`: character n-grams (`char_min..=char_max`, default 2–5) over the lowercased text with
//!   whitespace collapsed and a space of padding at each end;
//! - `meta`: length bucket, ends-with-`?`, has-`?`, several `?`, trailing dash or ellipsis
//!   (interrupted speech), empty.
//!
//! Values are sublinear (`sqrt(tf)`) and each group is L2-normalised, then scaled by its group
//! weight. The vector for utterance *i* is its own three groups plus the `words` and `meta` groups
//! of the previous two and the next utterance, each hashed with a salt that names the position and
//! whether that utterance has the same speaker as *i* (so "previous therapist utterance" and
//! "previous client utterance" are different features). Coding sees the whole transcript, so
//! using the next utterance is legitimate: a client's "yes" after a therapist turn says a lot about
//! whether that turn was a closed question.
//!
//! The hash is a fixed FNV-1a variant with a SplitMix64 finaliser (never `std`'s randomised
//! hasher), so features, and hence the model file, are identical on every platform and run.

use crate::Utterance;

/// Feature extraction parameters; stored in the model file so coding matches training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureConfig {
    /// log2 of the number of hash buckets.
    pub bucket_bits: u8,
    pub char_min: u8,
    pub char_max: u8,
    pub word_weight: f32,
    pub char_weight: f32,
    pub meta_weight: f32,
    pub prev1_weight: f32,
    pub prev2_weight: f32,
    pub next1_weight: f32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            bucket_bits: 18,
            char_min: 2,
            char_max: 5,
            word_weight: 1.0,
            char_weight: 1.0,
            meta_weight: 1.0,
            prev1_weight: 0.6,
            prev2_weight: 0.3,
            next1_weight: 0.4,
        }
    }
}

impl FeatureConfig {
    /// Smallest and largest accepted `bucket_bits`.
    pub const MIN_BITS: u8 = 8;
    pub const MAX_BITS: u8 = 24;

    pub fn buckets(&self) -> usize {
        1usize << self.bucket_bits
    }

    /// Whether the configuration is usable (bounds checked when loading a model file).
    pub fn is_valid(&self) -> bool {
        let weights = [self.word_weight, self.char_weight, self.meta_weight, self.prev1_weight, self.prev2_weight, self.next1_weight];
        (Self::MIN_BITS..=Self::MAX_BITS).contains(&self.bucket_bits)
            && self.char_min >= 1
            && self.char_min <= self.char_max
            && self.char_max <= 8
            && weights.iter().all(|w| w.is_finite() && *w >= 0.0)
    }
}

/// A sparse feature vector: `(bucket, value)` pairs (buckets may repeat; values add up).
pub type SparseVec = Vec<(u32, f32)>;

/// The per-utterance feature groups, before bucketing (`(hash, value)` pairs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Base {
    words: Vec<(u64, f32)>,
    chars: Vec<(u64, f32)>,
    meta: Vec<(u64, f32)>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

// Salts: one per (group, position, same/other speaker).
const SALT_WORD: u64 = 0x1000;
const SALT_CHAR: u64 = 0x2000;
const SALT_META: u64 = 0x3000;
const SALT_PREV1: u64 = 0x4000;
const SALT_PREV2: u64 = 0x5000;
const SALT_NEXT1: u64 = 0x6000;
const SALT_OTHER_SPEAKER: u64 = 0x0100;
const SALT_CTX_META: u64 = 0x0010;
const SALT_BOUNDARY: u64 = 0x7000;

// Token and meta-feature ids (hashed like tokens, distinct from any FNV value in practice).
const TOK_START: u64 = 0x0053_5441_5254; // "START"
const TOK_END: u64 = 0x0045_4e44; // "END"

#[inline]
fn fnv_step(h: u64, x: u32) -> u64 {
    (h ^ u64::from(x)).wrapping_mul(FNV_PRIME)
}

/// SplitMix64 finaliser: a strong 64-bit mix.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
fn bucket(h: u64, salt: u64, bits: u8) -> u32 {
    let shift = 64u32.saturating_sub(u32::from(bits));
    // bits <= 24, so the result fits in u32.
    u32::try_from(mix(h ^ mix(salt)) >> shift).unwrap_or(0)
}

/// Digits fold to `0`, typographic apostrophes to `'` (lowercasing happens at the call site).
#[inline]
fn fold_char(c: char) -> char {
    if c.is_ascii_digit() {
        '0'
    } else if c == '\u{2019}' || c == '\u{2018}' || c == '`' {
        '\''
    } else {
        c
    }
}

/// Lowercase, fold and tokenise `text` into word hashes (reusing `out`). `?` and `!` are tokens.
/// This is also the "reference" work of the benchmark.
pub fn token_hashes(text: &str, out: &mut Vec<u64>) {
    out.clear();
    let mut h = FNV_OFFSET;
    let mut in_word = false;
    for c in text.chars() {
        let c = fold_char(c);
        if c.is_alphanumeric() || c == '\'' {
            for lc in c.to_lowercase() {
                h = fnv_step(h, u32::from(lc));
            }
            in_word = true;
        } else {
            if in_word {
                out.push(h);
                h = FNV_OFFSET;
                in_word = false;
            }
            if c == '?' || c == '!' {
                out.push(fnv_step(FNV_OFFSET, u32::from(c)));
            }
        }
    }
    if in_word {
        out.push(h);
    }
}

/// Scratch buffers reused across utterances to avoid allocation in the hot loop.
#[derive(Debug, Default)]
pub struct Scratch {
    tokens: Vec<u64>,
    chars: Vec<u32>,
    hashes: Vec<u64>,
}

fn finish_group(hashes: &mut [u64], weight: f32, out: &mut Vec<(u64, f32)>) {
    out.clear();
    if hashes.is_empty() || weight == 0.0 {
        return;
    }
    hashes.sort_unstable();
    let mut norm2 = 0.0f32;
    let mut iter = hashes.iter().copied().peekable();
    while let Some(h) = iter.next() {
        let mut tf = 1u32;
        while iter.peek() == Some(&h) {
            iter.next();
            tf += 1;
        }
        // sqrt is correctly rounded everywhere (unlike ln), keeping models bit-identical.
        let v = (tf as f32).sqrt();
        norm2 += v * v;
        out.push((h, v));
    }
    let scale = weight / norm2.sqrt();
    for (_, v) in out.iter_mut() {
        *v *= scale;
    }
}

fn length_bucket(n: usize) -> u64 {
    match n {
        0 => 0,
        1 => 1,
        2 => 2,
        3..=4 => 3,
        5..=8 => 4,
        9..=16 => 5,
        17..=32 => 6,
        33..=64 => 7,
        _ => 8,
    }
}

/// Compute the feature groups of one utterance.
pub fn base_features(cfg: &FeatureConfig, text: &str, scratch: &mut Scratch) -> Base {
    let mut base = Base::default();

    // Words: unigrams + bigrams with boundary tokens.
    token_hashes(text, &mut scratch.tokens);
    scratch.hashes.clear();
    let mut prev = TOK_START;
    for &t in &scratch.tokens {
        scratch.hashes.push(t);
        scratch.hashes.push(mix(prev.wrapping_mul(31).wrapping_add(t)));
        prev = t;
    }
    scratch.hashes.push(mix(prev.wrapping_mul(31).wrapping_add(TOK_END)));
    finish_group(&mut scratch.hashes, cfg.word_weight, &mut base.words);

    // Characters: collapsed whitespace, lowercased, padded.
    scratch.chars.clear();
    scratch.chars.push(u32::from(' '));
    let mut last_space = true;
    for c in text.chars() {
        if c.is_whitespace() {
            if !last_space {
                scratch.chars.push(u32::from(' '));
                last_space = true;
            }
        } else {
            for lc in fold_char(c).to_lowercase() {
                scratch.chars.push(u32::from(lc));
            }
            last_space = false;
        }
    }
    if !last_space {
        scratch.chars.push(u32::from(' '));
    }
    scratch.hashes.clear();
    let (lo, hi) = (usize::from(cfg.char_min), usize::from(cfg.char_max));
    for start in 0..scratch.chars.len() {
        let mut h = FNV_OFFSET;
        for (n, &c) in scratch.chars.iter().skip(start).take(hi).enumerate() {
            h = fnv_step(h, c);
            if n + 1 >= lo {
                scratch.hashes.push(h);
            }
        }
    }
    finish_group(&mut scratch.hashes, cfg.char_weight, &mut base.chars);

    // Meta.
    scratch.hashes.clear();
    let trimmed = text.trim_end();
    let n_tokens = scratch.tokens.len();
    scratch.hashes.push(mix(0x100 + length_bucket(n_tokens)));
    let q_count = text.matches('?').count();
    if trimmed.ends_with('?') {
        scratch.hashes.push(mix(0x200));
    }
    if q_count > 0 {
        scratch.hashes.push(mix(0x201));
    }
    if q_count > 1 {
        scratch.hashes.push(mix(0x202));
    }
    if trimmed.ends_with('-') || trimmed.ends_with("...") || trimmed.ends_with('\u{2026}') {
        scratch.hashes.push(mix(0x203));
    }
    if n_tokens == 0 {
        scratch.hashes.push(mix(0x204));
    }
    let sentences = text.chars().filter(|c| matches!(c, '.' | '?' | '!')).count();
    scratch.hashes.push(mix(0x300 + length_bucket(sentences)));
    finish_group(&mut scratch.hashes, cfg.meta_weight, &mut base.meta);

    base
}

/// Compute the feature groups of every utterance.
pub fn base_all(cfg: &FeatureConfig, utterances: &[Utterance]) -> Vec<Base> {
    let mut scratch = Scratch::default();
    utterances.iter().map(|u| base_features(cfg, &u.text, &mut scratch)).collect()
}

fn push_group(out: &mut SparseVec, group: &[(u64, f32)], salt: u64, scale: f32, bits: u8) {
    if scale == 0.0 {
        return;
    }
    out.extend(group.iter().map(|&(h, v)| (bucket(h, salt, bits), v * scale)));
}

/// Assemble the feature vector of utterance `i` (own groups plus context) into `out`.
pub fn assemble(cfg: &FeatureConfig, utterances: &[Utterance], bases: &[Base], i: usize, out: &mut SparseVec) {
    out.clear();
    let bits = cfg.bucket_bits;
    let (Some(me), Some(base)) = (utterances.get(i), bases.get(i)) else {
        return;
    };
    push_group(out, &base.words, SALT_WORD, 1.0, bits);
    push_group(out, &base.chars, SALT_CHAR, 1.0, bits);
    push_group(out, &base.meta, SALT_META, 1.0, bits);

    let context = [
        (i.checked_sub(1), SALT_PREV1, cfg.prev1_weight),
        (i.checked_sub(2), SALT_PREV2, cfg.prev2_weight),
        (i.checked_add(1), SALT_NEXT1, cfg.next1_weight),
    ];
    for (j, salt, weight) in context {
        if weight == 0.0 {
            continue;
        }
        match j.and_then(|j| utterances.get(j).zip(bases.get(j))) {
            Some((u, b)) => {
                let rel = if u.speaker == me.speaker { 0 } else { SALT_OTHER_SPEAKER };
                push_group(out, &b.words, salt + rel, weight, bits);
                push_group(out, &b.meta, salt + rel + SALT_CTX_META, weight, bits);
            }
            None => out.push((bucket(salt, SALT_BOUNDARY, bits), weight)),
        }
    }
}

/// Feature vectors of all utterances of one transcript.
pub fn transcript_vectors(cfg: &FeatureConfig, utterances: &[Utterance]) -> Vec<SparseVec> {
    let bases = base_all(cfg, utterances);
    (0..utterances.len())
        .map(|i| {
            let mut v = SparseVec::new();
            assemble(cfg, utterances, &bases, i, &mut v);
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Speaker;

    #[test]
    fn tokens_fold_case_digits_and_quotes() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        token_hashes("I DON\u{2019}T drink 3 beers?", &mut a);
        token_hashes("i don't drink 7 beers ?", &mut b);
        assert_eq!(a, b);
        assert_eq!(a.len(), 6);
    }

    #[test]
    fn groups_are_normalised() {
        let cfg = FeatureConfig::default();
        let mut s = Scratch::default();
        let b = base_features(&cfg, "So you want to stop, you really want to stop?", &mut s);
        for g in [&b.words, &b.chars] {
            let n: f32 = g.iter().map(|(_, v)| v * v).sum();
            assert!((n - 1.0).abs() < 1e-4, "{n}");
        }
    }

    #[test]
    fn empty_text_has_features_and_no_nan() {
        let cfg = FeatureConfig::default();
        let utts = vec![Utterance::new(Speaker::Therapist, "")];
        let v = transcript_vectors(&cfg, &utts);
        assert_eq!(v.len(), 1);
        assert!(!v[0].is_empty());
        assert!(v[0].iter().all(|(b, x)| x.is_finite() && (*b as usize) < cfg.buckets()));
    }

    #[test]
    fn context_changes_the_vector() {
        let cfg = FeatureConfig::default();
        let a = vec![Utterance::new(Speaker::Therapist, "How much do you drink?"), Utterance::new(Speaker::Client, "Not much.")];
        let b = vec![Utterance::new(Speaker::Therapist, "You want to cut down."), Utterance::new(Speaker::Client, "Not much.")];
        assert_ne!(transcript_vectors(&cfg, &a)[1], transcript_vectors(&cfg, &b)[1]);
    }

    proptest::proptest! {
        #[test]
        fn features_are_total(texts in proptest::collection::vec(".{0,80}", 0..6)) {
            let cfg = FeatureConfig { bucket_bits: 10, ..FeatureConfig::default() };
            let utts: Vec<Utterance> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| Utterance::new(if i % 2 == 0 { Speaker::Therapist } else { Speaker::Client }, t.clone()))
                .collect();
            let v = transcript_vectors(&cfg, &utts);
            proptest::prop_assert_eq!(v.len(), utts.len());
            for x in v {
                proptest::prop_assert!(x.iter().all(|(b, val)| val.is_finite() && (*b as usize) < cfg.buckets()));
            }
        }
    }
}
