//! Prompts: 8 kHz 16-bit mono WAV files, encoded to µ-law and A-law once and shared by every
//! call (an `Arc` per law), so playing a prompt costs a copy of 160 bytes per packet.
//!
//! Lookup order for a name: the override directory (recorded voice replacing the synthetic
//! prompts, `<override>/<name>.wav`), then the built-in set the server hands over.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use hotline_media::Codec;
use hotline_media::g711;
use hotline_media::session::EncodedAudio;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PromptError {
    #[error("prompt {name}: not found (looked in {looked})")]
    NotFound { name: String, looked: String },
    #[error("prompt {name} ({source_name}): {reason}")]
    Invalid {
        name: String,
        source_name: String,
        reason: String,
    },
}

/// One prompt in both laws.
#[derive(Debug)]
pub struct Prompt {
    pub pcmu: EncodedAudio,
    pub pcma: EncodedAudio,
    /// Where it came from (file path or the built-in name), for logs and errors.
    pub source: String,
}

impl Prompt {
    pub fn for_codec(&self, codec: Codec) -> EncodedAudio {
        match codec {
            Codec::Pcmu => self.pcmu.clone(),
            Codec::Pcma => self.pcma.clone(),
        }
    }

    pub fn duration_ms(&self) -> u64 {
        self.pcmu.len() as u64 / 8
    }
}

/// Decodes a WAV held in memory: it must be 8 kHz, mono, 16-bit integer PCM (what the prompt
/// script makes and what telephony recorders produce); anything else is refused with the reason,
/// since resampling here would hide a wrongly exported file.
pub fn decode_wav(name: &str, source: &str, bytes: &[u8]) -> Result<Prompt, PromptError> {
    let invalid = |reason: String| PromptError::Invalid {
        name: name.to_string(),
        source_name: source.to_string(),
        reason,
    };
    let mut reader =
        hound::WavReader::new(std::io::Cursor::new(bytes)).map_err(|e| invalid(e.to_string()))?;
    let spec = reader.spec();
    if spec.sample_rate != 8000
        || spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(invalid(format!(
            "is {} Hz, {} channel(s), {}-bit {:?}; prompts must be 8000 Hz mono 16-bit PCM \
             (sox in.wav -r 8000 -c 1 -b 16 out.wav)",
            spec.sample_rate, spec.channels, spec.bits_per_sample, spec.sample_format
        )));
    }
    let pcm: Vec<i16> = reader
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    if pcm.is_empty() {
        return Err(invalid("has no audio".into()));
    }
    let mut pcmu = vec![0u8; pcm.len()];
    let mut pcma = vec![0u8; pcm.len()];
    g711::encode_ulaw(&pcm, &mut pcmu);
    g711::encode_alaw(&pcm, &mut pcma);
    Ok(Prompt {
        pcmu: pcmu.into(),
        pcma: pcma.into(),
        source: source.to_string(),
    })
}

/// The prompt store shared by all calls.
pub struct PromptCache {
    override_dir: Option<PathBuf>,
    builtin: HashMap<String, &'static [u8]>,
    /// Extra directory searched after the override (a dialplan set with its own prompts).
    dir: Option<PathBuf>,
    cache: RwLock<HashMap<String, Arc<Prompt>>>,
}

impl PromptCache {
    /// `builtin`: name → WAV bytes compiled into the binary; `dir`: a prompts directory on disk
    /// (takes precedence over the built-ins); `override_dir`: recorded voice, first of all.
    pub fn new(
        builtin: HashMap<String, &'static [u8]>,
        dir: Option<PathBuf>,
        override_dir: Option<PathBuf>,
    ) -> Self {
        Self {
            override_dir,
            builtin,
            dir,
            cache: RwLock::new(HashMap::new()),
        }
    }

    fn file_in(dir: &Option<PathBuf>, name: &str) -> Option<PathBuf> {
        let d = dir.as_ref()?;
        let p = d.join(format!("{name}.wav"));
        p.is_file().then_some(p)
    }

    /// Whether `name` can be played (for `hotline check` and dialplan validation).
    pub fn exists(&self, name: &str) -> bool {
        valid_name(name)
            && (Self::file_in(&self.override_dir, name).is_some()
                || Self::file_in(&self.dir, name).is_some()
                || self.builtin.contains_key(name))
    }

    /// The prompt, loading and encoding it on first use.
    pub fn get(&self, name: &str) -> Result<Arc<Prompt>, PromptError> {
        if let Some(p) = self.cache.read().ok().and_then(|c| c.get(name).cloned()) {
            return Ok(p);
        }
        let prompt = Arc::new(self.load(name)?);
        if let Ok(mut c) = self.cache.write() {
            c.insert(name.to_string(), prompt.clone());
        }
        Ok(prompt)
    }

    fn load(&self, name: &str) -> Result<Prompt, PromptError> {
        if !valid_name(name) {
            return Err(PromptError::Invalid {
                name: name.to_string(),
                source_name: "-".into(),
                reason: "a prompt name is letters, digits, '-' and '_' only".into(),
            });
        }
        for dir in [&self.override_dir, &self.dir] {
            if let Some(path) = Self::file_in(dir, name) {
                let bytes = std::fs::read(&path).map_err(|e| PromptError::Invalid {
                    name: name.to_string(),
                    source_name: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                return decode_wav(name, &path.display().to_string(), &bytes);
            }
        }
        if let Some(bytes) = self.builtin.get(name) {
            return decode_wav(name, &format!("built-in {name}.wav"), bytes);
        }
        let mut looked = Vec::new();
        for d in [&self.override_dir, &self.dir].into_iter().flatten() {
            looked.push(d.display().to_string());
        }
        looked.push("built-in prompts".into());
        Err(PromptError::NotFound {
            name: name.to_string(),
            looked: looked.join(", "),
        })
    }

    /// Loads every name now (at start, so a broken file is reported before the first call).
    pub fn preload<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Vec<PromptError> {
        names
            .into_iter()
            .filter_map(|n| self.get(n).err())
            .collect()
    }

    /// The names the built-in set and the directories offer.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.builtin.keys().cloned().collect();
        for d in [&self.override_dir, &self.dir].into_iter().flatten() {
            if let Ok(rd) = std::fs::read_dir(d) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "wav")
                        && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                    {
                        v.push(stem.to_string());
                    }
                }
            }
        }
        v.sort();
        v.dedup();
        v
    }
}

/// Names come from dialplans and variables: keep them to a file-name-safe alphabet so a
/// `${line.number}` expansion can never walk out of the prompt directory.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
