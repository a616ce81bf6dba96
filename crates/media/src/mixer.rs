//! N-party audio mixing for conferences (三方通话: citizen, agent, a unit's remote seat; a
//! supervisor listening or barging in).
//!
//! Each participant's G.711 RTP payloads go through their own jitter buffer; once per 20 ms
//! the driver calls [`Mixer::mix`], which takes one frame from every buffer, sums all of them
//! in 32 bits and gives each participant the sum minus their own frame (so nobody hears
//! themselves), saturated to 16 bits and encoded in that participant's codec. The mix runs on
//! the driver's clock, not on arrivals: a participant who stops sending only stops
//! contributing, nobody waits for them. A muted participant is heard by no one but still hears
//! everyone; a listen-only one (a supervisor monitoring) is never heard either. A whispering
//! one (密语: a supervisor coaching the agent) is heard only by the participants named.

use crate::g711;
use crate::jitter::{FRAME_SAMPLES, Frame, JitterBuffer, JitterConfig, Push};
use crate::sdp::Codec;

/// A participant's handle in one [`Mixer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u32);

struct Participant {
    id: ParticipantId,
    codec: Codec,
    muted: bool,
    /// Heard only by these (a whisper); `None`: by everyone.
    audience: Option<Vec<ParticipantId>>,
    jitter: JitterBuffer,
    /// This tick's decoded frame (None: silent or muted).
    frame: Option<Vec<i16>>,
}

/// The mixer of one conference.
pub struct Mixer {
    jitter: JitterConfig,
    parts: Vec<Participant>,
    next: u32,
    /// Scratch: the sum of this tick's frames.
    sum: Vec<i32>,
}

/// One participant's 20 ms of mixed audio, encoded in their codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mixed {
    pub to: ParticipantId,
    pub payload: Vec<u8>,
    /// Whether anyone else was heard in this frame (false: the payload is silence, which a
    /// driver may still send to keep the stream alive).
    pub voiced: bool,
}

impl Mixer {
    pub fn new(jitter: JitterConfig) -> Self {
        Mixer {
            jitter,
            parts: Vec::new(),
            next: 1,
            sum: vec![0; FRAME_SAMPLES],
        }
    }

    /// A new participant sending and receiving in `codec`.
    pub fn add(&mut self, codec: Codec) -> ParticipantId {
        let id = ParticipantId(self.next);
        self.next += 1;
        self.parts.push(Participant {
            id,
            codec,
            muted: false,
            audience: None,
            jitter: JitterBuffer::new(self.jitter),
            frame: None,
        });
        id
    }

    /// Removes a participant; the others go on. Returns whether it was there.
    pub fn remove(&mut self, id: ParticipantId) -> bool {
        let before = self.parts.len();
        self.parts.retain(|p| p.id != id);
        self.parts.len() != before
    }

    pub fn set_muted(&mut self, id: ParticipantId, muted: bool) -> bool {
        match self.parts.iter_mut().find(|p| p.id == id) {
            Some(p) => {
                p.muted = muted;
                true
            }
            None => false,
        }
    }

    /// Who hears `id`: only `to` (a whisper), or everyone again with `None`.
    pub fn set_audience(&mut self, id: ParticipantId, to: Option<Vec<ParticipantId>>) -> bool {
        match self.parts.iter_mut().find(|p| p.id == id) {
            Some(p) => {
                p.audience = to;
                true
            }
            None => false,
        }
    }

    pub fn is_muted(&self, id: ParticipantId) -> Option<bool> {
        self.parts.iter().find(|p| p.id == id).map(|p| p.muted)
    }

    /// What `id` said in the last mixed frame (None: silent or muted).
    pub fn frame_of(&self, id: ParticipantId) -> Option<&[i16]> {
        self.parts
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.frame.as_deref())
    }

    pub fn len(&self) -> usize {
        self.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// An RTP payload (G.711 in the participant's codec) with RTP timestamp `ts`, arrived at
    /// playout time `now` (8 kHz samples, the same clock as [`Mixer::mix`]).
    pub fn push(&mut self, id: ParticipantId, now: u32, ts: u32, payload: &[u8]) -> Option<Push> {
        let p = self.parts.iter_mut().find(|p| p.id == id)?;
        let mut pcm = vec![0i16; payload.len()];
        match p.codec {
            Codec::Pcmu => g711::decode_ulaw(payload, &mut pcm),
            Codec::Pcma => g711::decode_alaw(payload, &mut pcm),
        };
        Some(p.jitter.push(now, ts, pcm))
    }

    /// This 20 ms frame for everyone, at playout time `now`.
    pub fn mix(&mut self, now: u32) -> Vec<Mixed> {
        self.sum.iter_mut().for_each(|s| *s = 0);
        let mut voices = 0usize;
        for p in &mut self.parts {
            let frame = match p.jitter.pop(now) {
                Frame::Audio(s) if !p.muted => Some(s),
                _ => None,
            };
            if let Some(f) = &frame {
                voices += 1;
                for (acc, &s) in self.sum.iter_mut().zip(f.iter()) {
                    *acc += i32::from(s);
                }
            }
            p.frame = frame;
        }
        let mut out = Vec::with_capacity(self.parts.len());
        let mut pcm = [0i16; FRAME_SAMPLES];
        for p in &self.parts {
            let own = p.frame.as_deref();
            // Whisperers this participant may not hear: taken out of its mix like its own voice.
            let hidden: Vec<&[i16]> = self
                .parts
                .iter()
                .filter(|w| w.id != p.id)
                .filter(|w| w.audience.as_ref().is_some_and(|a| !a.contains(&p.id)))
                .filter_map(|w| w.frame.as_deref())
                .collect();
            let others = voices - usize::from(own.is_some()) - hidden.len();
            for (i, slot) in pcm.iter_mut().enumerate() {
                let mine = own.map_or(0, |f| i32::from(f[i]));
                let masked: i32 = hidden.iter().map(|f| i32::from(f[i])).sum();
                *slot = (self.sum[i] - mine - masked)
                    .clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            }
            let mut payload = vec![0u8; FRAME_SAMPLES];
            match p.codec {
                Codec::Pcmu => g711::encode_ulaw(&pcm, &mut payload),
                Codec::Pcma => g711::encode_alaw(&pcm, &mut payload),
            };
            out.push(Mixed {
                to: p.id,
                payload,
                voiced: others > 0,
            });
        }
        out
    }
}
