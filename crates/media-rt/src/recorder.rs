//! Call recording: a stereo 8 kHz 16-bit WAV, the caller on the left channel and what the
//! caller heard (prompts, the agent) on the right, which is what quality reviewers ask for:
//! each side can be listened to alone, and both together sound like the call.
//!
//! Frames arrive every 20 ms from the call's media task; a 64 KiB buffer keeps that to one
//! write system call every two seconds per call.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("recording {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("recording {path}: {source}")]
    Wav { path: PathBuf, source: hound::Error },
}

pub struct Recorder {
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    frames: u64,
}

impl Recorder {
    pub fn create(path: &Path) -> Result<Self, RecordError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| RecordError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let file = File::create(path).map_err(|source| RecordError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::new(BufWriter::with_capacity(64 * 1024, file), spec)
            .map_err(|source| RecordError::Wav {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Some(writer),
            frames: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Samples written per channel.
    pub fn samples(&self) -> u64 {
        self.frames
    }

    pub fn write(&mut self, left: &[i16], right: &[i16]) -> Result<(), RecordError> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        for (l, r) in left.iter().zip(right) {
            w.write_sample(*l)
                .and_then(|_| w.write_sample(*r))
                .map_err(|source| RecordError::Wav {
                    path: self.path.clone(),
                    source,
                })?;
        }
        self.frames += left.len().min(right.len()) as u64;
        Ok(())
    }

    /// Writes the final header lengths. Also done on drop, where errors can only be logged.
    pub fn finish(mut self) -> Result<(), RecordError> {
        self.finalize()
    }

    fn finalize(&mut self) -> Result<(), RecordError> {
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(|source| RecordError::Wav {
                path: self.path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Err(e) = self.finalize() {
            tracing::warn!(error = %e, "recording not finalized");
        }
    }
}
