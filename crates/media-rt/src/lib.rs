//! The async media shell: binds RTP ports, runs one task per call around the sans-IO
//! [`hotline_media::session::CallMedia`], plays prompts from a shared cache and writes recordings.
//! It decides nothing about calls; the SIP layer tells it what to play and whom to bridge.

mod call;
mod clock;
mod ports;
mod prompts;
mod recorder;
mod stats;

pub use call::{CallMediaHandle, MediaNotice, now_micros, spawn_call};
pub use ports::{PortError, PortPair, PortPool};
pub use prompts::{Prompt, PromptCache, PromptError, decode_wav};
pub use recorder::{RecordError, Recorder};
pub use stats::{LATE_MICROS, MediaStats, STATS};
