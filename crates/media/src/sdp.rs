//! Minimal SDP (RFC 4566) offer/answer (RFC 3264) for one G.711 audio stream.
//!
//! The hotline only ever speaks G.711 at 8 kHz with RFC 4733 digits, so this parses what an offer
//! needs for that decision (connection address, audio m-lines, rtpmap/fmtp/ptime, direction) and
//! ignores everything else rather than modelling all of SDP. Every offered m-line gets an answer
//! line (RFC 3264 §6): the first usable audio stream is accepted, all others are refused with
//! port 0.

use std::fmt::Write as _;
use std::net::IpAddr;

/// Why an offer could not be parsed or answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    #[error("SDP line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    /// The offer has no audio stream with a non-zero port.
    #[error("offer has no active audio stream")]
    NoAudio,
    /// Audio is offered, but none of its codecs is one we accept (the SIP layer answers 488).
    #[error("no common audio codec")]
    NoCommonCodec,
    /// The accepted audio stream has no connection address at media or session level.
    #[error("audio stream has no connection address (c=)")]
    NoConnection,
}

/// The G.711 laws the media engine can encode and decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    /// RFC 3551 static payload type.
    pub fn static_pt(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else {
            None
        }
    }
}

/// Stream direction attribute, from the point of view of the side that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn from_attr(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    pub fn as_attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The answer's direction for an offered one (RFC 3264 §6.1): what the peer sends we
    /// receive, so a hold (`sendonly`) is answered `recvonly`.
    pub fn mirror(self) -> Self {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }
}

/// One `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub pt: u8,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u32>,
}

/// One offered m-line with the attributes that matter for the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: String,
    pub port: u16,
    pub proto: String,
    /// Format tokens as written (payload type numbers for RTP/AVP).
    pub formats: Vec<String>,
    pub connection: Option<IpAddr>,
    pub rtpmaps: Vec<RtpMap>,
    pub fmtps: Vec<(u8, String)>,
    pub ptime: Option<u32>,
    pub direction: Option<Direction>,
}

impl MediaDescription {
    pub fn rtpmap(&self, pt: u8) -> Option<&RtpMap> {
        self.rtpmaps.iter().find(|m| m.pt == pt)
    }

    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.fmtps
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, s)| s.as_str())
    }
}

/// A parsed offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub connection: Option<IpAddr>,
    pub direction: Option<Direction>,
    pub media: Vec<MediaDescription>,
}

fn malformed(line: usize, reason: impl Into<String>) -> SdpError {
    SdpError::Malformed {
        line,
        reason: reason.into(),
    }
}

fn parse_connection(line: usize, value: &str) -> Result<IpAddr, SdpError> {
    let mut parts = value.split_ascii_whitespace();
    let (Some(net), Some(family), Some(addr), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(line, "c= needs <nettype> <addrtype> <address>"));
    };
    if net != "IN" {
        return Err(malformed(line, format!("unsupported network type {net:?}")));
    }
    // Multicast addresses may carry /ttl[/count]; the address is what comes before.
    let addr = addr.split('/').next().unwrap_or(addr);
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| malformed(line, format!("bad connection address {addr:?}")))?;
    match (family, ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Ok(ip),
        _ => Err(malformed(
            line,
            format!("address {addr} does not match {family}"),
        )),
    }
}

fn parse_media(line: usize, value: &str) -> Result<MediaDescription, SdpError> {
    let mut parts = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(proto)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed(line, "m= needs <media> <port> <proto> <fmt>..."));
    };
    let port_str = port.split('/').next().unwrap_or(port);
    let port: u16 = port_str
        .parse()
        .map_err(|_| malformed(line, format!("bad media port {port_str:?}")))?;
    let formats: Vec<String> = parts.map(str::to_owned).collect();
    if formats.is_empty() {
        return Err(malformed(line, "m= has no formats"));
    }
    Ok(MediaDescription {
        media: media.to_owned(),
        port,
        proto: proto.to_owned(),
        formats,
        connection: None,
        rtpmaps: Vec::new(),
        fmtps: Vec::new(),
        ptime: None,
        direction: None,
    })
}

fn parse_pt(line: usize, s: &str) -> Result<u8, SdpError> {
    s.parse::<u8>()
        .ok()
        .filter(|pt| *pt < 128)
        .ok_or_else(|| malformed(line, format!("bad payload type {s:?}")))
}

fn parse_rtpmap(line: usize, value: &str) -> Result<RtpMap, SdpError> {
    let (pt, rest) = value
        .split_once(' ')
        .ok_or_else(|| malformed(line, "rtpmap needs <pt> <encoding>/<clock>"))?;
    let pt = parse_pt(line, pt)?;
    let mut enc = rest.trim().split('/');
    let encoding = enc.next().unwrap_or_default();
    let clock = enc
        .next()
        .and_then(|c| c.parse::<u32>().ok())
        .ok_or_else(|| malformed(line, format!("rtpmap {rest:?} has no clock rate")))?;
    let channels = match enc.next() {
        None => None,
        Some(c) => Some(
            c.parse::<u32>()
                .map_err(|_| malformed(line, format!("bad channel count {c:?}")))?,
        ),
    };
    if encoding.is_empty() {
        return Err(malformed(line, "rtpmap has no encoding name"));
    }
    Ok(RtpMap {
        pt,
        encoding: encoding.to_owned(),
        clock_rate: clock,
        channels,
    })
}

impl Offer {
    /// Parses an SDP body. Unknown lines and attributes are skipped; lines that matter and are
    /// broken are reported with their 1-based line number.
    pub fn parse(sdp: &str) -> Result<Self, SdpError> {
        let mut offer = Offer {
            connection: None,
            direction: None,
            media: Vec::new(),
        };
        let mut saw_version = false;
        for (idx, raw) in sdp.lines().enumerate() {
            let line = idx + 1;
            let text = raw.trim_end_matches('\r');
            if text.trim().is_empty() {
                continue;
            }
            let bytes = text.as_bytes();
            if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
                return Err(malformed(
                    line,
                    format!("not a <type>=<value> line: {text:?}"),
                ));
            }
            let kind = bytes[0];
            let value = &text[2..];
            if !saw_version {
                if kind != b'v' {
                    return Err(malformed(line, "SDP must start with v="));
                }
                if value.trim() != "0" {
                    return Err(malformed(
                        line,
                        format!("unsupported SDP version {value:?}"),
                    ));
                }
                saw_version = true;
                continue;
            }
            match kind {
                b'c' => {
                    let ip = parse_connection(line, value)?;
                    match offer.media.last_mut() {
                        Some(m) => m.connection = Some(ip),
                        None => offer.connection = Some(ip),
                    }
                }
                b'm' => offer.media.push(parse_media(line, value)?),
                b'a' => {
                    let (name, arg) = match value.split_once(':') {
                        Some((n, a)) => (n, Some(a)),
                        None => (value, None),
                    };
                    if let Some(dir) = Direction::from_attr(name) {
                        match offer.media.last_mut() {
                            Some(m) => m.direction = Some(dir),
                            None => offer.direction = Some(dir),
                        }
                        continue;
                    }
                    // rtpmap/fmtp/ptime only mean something inside an m= section.
                    let Some(m) = offer.media.last_mut() else {
                        continue;
                    };
                    match (name, arg) {
                        ("rtpmap", Some(a)) => m.rtpmaps.push(parse_rtpmap(line, a)?),
                        ("fmtp", Some(a)) => {
                            let (pt, params) = a
                                .split_once(' ')
                                .ok_or_else(|| malformed(line, "fmtp needs <pt> <params>"))?;
                            m.fmtps
                                .push((parse_pt(line, pt)?, params.trim().to_owned()));
                        }
                        ("ptime", Some(a)) => {
                            let ms = a
                                .trim()
                                .parse::<u32>()
                                .ok()
                                .filter(|ms| *ms > 0)
                                .ok_or_else(|| malformed(line, format!("bad ptime {a:?}")))?;
                            m.ptime = Some(ms);
                        }
                        ("rtpmap" | "fmtp" | "ptime", None) => {
                            return Err(malformed(line, format!("a={name} needs a value")));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        if !saw_version {
            return Err(malformed(1, "empty SDP"));
        }
        Ok(offer)
    }
}

/// What we offer to receive on: our media address and the codecs we accept, in our order of
/// preference as a tie-breaker only (the offerer's order decides, RFC 3264 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    pub ip: IpAddr,
    pub port: u16,
    pub prefer: Vec<Codec>,
}

/// The negotiated audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSession {
    /// Index of the accepted m-line in the offer.
    pub index: usize,
    /// Where to send RTP (`0.0.0.0` for an RFC 2543-style hold).
    pub remote_ip: IpAddr,
    pub remote_port: u16,
    pub codec: Codec,
    /// Payload type the codec uses in both directions (the offered one, possibly dynamic).
    pub pt: u8,
    /// Offered RFC 4733 payload type, kept in the answer.
    pub telephone_event_pt: Option<u8>,
    /// The offerer's wish for packet duration, if stated.
    pub remote_ptime: Option<u32>,
    /// Our direction, as written in the answer.
    pub direction: Direction,
}

/// One answer line for an offered m-line that we refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rejected {
    media: String,
    proto: String,
    formats: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AnswerLine {
    Audio,
    Rejected(Rejected),
}

/// The answer to an offer: the accepted audio stream plus a refusal for every other m-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub audio: AudioSession,
    local: LocalMedia,
    lines: Vec<AnswerLine>,
}

/// Packet duration we send; G.711 at 20 ms is what every hotline endpoint handles.
pub const PTIME_MS: u32 = 20;

/// The `o=` line's session id and version. The caller keeps one per dialog so that each new
/// answer (re-INVITE, hold, resume) carries a higher version (RFC 3264 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionVersion {
    id: u64,
    next: u64,
}

impl SessionVersion {
    pub fn new(id: u64, first_version: u64) -> Self {
        Self {
            id,
            next: first_version,
        }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Takes the version for an offer of ours about to be sent (sdp_offer).
    pub(crate) fn take_for_offer(&mut self) -> u64 {
        self.take()
    }

    /// Takes the version for the answer about to be sent.
    fn take(&mut self) -> u64 {
        let v = self.next;
        self.next = self.next.wrapping_add(1);
        v
    }
}

fn choose_codec(m: &MediaDescription, prefer: &[Codec]) -> Option<(Codec, u8)> {
    for fmt in &m.formats {
        let Ok(pt) = fmt.parse::<u8>() else { continue };
        let codec = match m.rtpmap(pt) {
            Some(map) => {
                if map.clock_rate != 8000 || map.channels.is_some_and(|c| c != 1) {
                    continue;
                }
                Codec::from_name(&map.encoding)
            }
            None => match pt {
                0 => Some(Codec::Pcmu),
                8 => Some(Codec::Pcma),
                _ => None,
            },
        };
        if let Some(c) = codec.filter(|c| prefer.contains(c)) {
            return Some((c, pt));
        }
    }
    None
}

fn telephone_event_pt(m: &MediaDescription) -> Option<u8> {
    m.formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .find(|pt| {
            m.rtpmap(*pt).is_some_and(|map| {
                map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000
            })
        })
}

/// Answers an offer: the first audio m-line with a non-zero port and a common codec is accepted.
pub fn answer(offer: &Offer, local: LocalMedia) -> Result<Answer, SdpError> {
    let mut audio = None;
    let mut saw_audio = false;
    let mut lines = Vec::with_capacity(offer.media.len());
    for (index, m) in offer.media.iter().enumerate() {
        let usable = audio.is_none()
            && m.media == "audio"
            && m.port != 0
            && m.proto.eq_ignore_ascii_case("RTP/AVP");
        if usable {
            saw_audio = true;
            if let Some((codec, pt)) = choose_codec(m, &local.prefer) {
                let remote_ip = m
                    .connection
                    .or(offer.connection)
                    .ok_or(SdpError::NoConnection)?;
                let offered = m.direction.or(offer.direction).unwrap_or_default();
                // c=0.0.0.0 is the pre-RFC 3264 way to put us on hold: answer as for sendonly.
                let offered = if remote_ip.is_unspecified() && offered == Direction::SendRecv {
                    Direction::SendOnly
                } else {
                    offered
                };
                audio = Some(AudioSession {
                    index,
                    remote_ip,
                    remote_port: m.port,
                    codec,
                    pt,
                    telephone_event_pt: telephone_event_pt(m),
                    remote_ptime: m.ptime,
                    direction: offered.mirror(),
                });
                lines.push(AnswerLine::Audio);
                continue;
            }
        }
        lines.push(AnswerLine::Rejected(Rejected {
            media: m.media.clone(),
            proto: m.proto.clone(),
            formats: m.formats.clone(),
        }));
    }
    match audio {
        Some(audio) => Ok(Answer {
            audio,
            local,
            lines,
        }),
        None if saw_audio => Err(SdpError::NoCommonCodec),
        None => Err(SdpError::NoAudio),
    }
}

fn addr_type(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

impl Answer {
    /// Writes the answer body with CRLF line ends, taking the next `o=` version from `version`.
    pub fn to_sdp(&self, version: &mut SessionVersion) -> String {
        let ip = self.local.ip;
        let at = addr_type(ip);
        let mut s = String::with_capacity(256);
        // Writing to a String cannot fail.
        let _ = write!(
            s,
            "v=0\r\no=hotline {} {} IN {at} {ip}\r\ns=hotline\r\nc=IN {at} {ip}\r\nt=0 0\r\n",
            version.id(),
            version.take()
        );
        for line in &self.lines {
            match line {
                AnswerLine::Rejected(r) => {
                    let _ = write!(s, "m={} 0 {} {}\r\n", r.media, r.proto, r.formats.join(" "));
                }
                AnswerLine::Audio => {
                    let a = &self.audio;
                    let _ = write!(s, "m=audio {} RTP/AVP {}", self.local.port, a.pt);
                    if let Some(te) = a.telephone_event_pt {
                        let _ = write!(s, " {te}");
                    }
                    let _ = write!(
                        s,
                        "\r\na=rtpmap:{} {}/8000\r\n",
                        a.pt,
                        a.codec.encoding_name()
                    );
                    if let Some(te) = a.telephone_event_pt {
                        // We understand the sixteen DTMF keys only (RFC 4733 §3.2: list what we receive).
                        let _ = write!(
                            s,
                            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-15\r\n"
                        );
                    }
                    let _ = write!(s, "a=ptime:{PTIME_MS}\r\na={}\r\n", a.direction.as_attr());
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> LocalMedia {
        LocalMedia {
            ip: "10.0.0.5".parse().unwrap(),
            port: 30000,
            prefer: vec![Codec::Pcmu, Codec::Pcma],
        }
    }

    /// SIPp's caller.xml INVITE body after keyword expansion.
    const SIPP_CALLER: &str = "v=0\r\no=caller 53655765 2353687637 IN IP4 192.168.1.20\r\ns=-\r\n\
        c=IN IP4 192.168.1.20\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n\
        a=sendrecv\r\n";

    const BARESIP: &str = "v=0\r\no=- 1730 3942 IN IP4 172.16.0.9\r\ns=-\r\nc=IN IP4 172.16.0.9\r\n\
        t=0 0\r\na=tool:baresip 3.10.1\r\nm=audio 10390 RTP/AVP 8 0 101\r\nb=AS:64\r\n\
        a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\na=label:1\r\n";

    fn answer_of(sdp: &str) -> Result<Answer, SdpError> {
        answer(&Offer::parse(sdp)?, local())
    }

    #[test]
    fn sipp_caller_offer_gets_pcmu_sendrecv() {
        let a = answer_of(SIPP_CALLER).unwrap();
        assert_eq!(a.audio.codec, Codec::Pcmu);
        assert_eq!(a.audio.pt, 0);
        assert_eq!(a.audio.remote_ip, "192.168.1.20".parse::<IpAddr>().unwrap());
        assert_eq!(a.audio.remote_port, 6000);
        assert_eq!(a.audio.telephone_event_pt, None);
        assert_eq!(a.audio.direction, Direction::SendRecv);
        let body = a.to_sdp(&mut SessionVersion::new(77, 1));
        assert_eq!(
            body,
            "v=0\r\no=hotline 77 1 IN IP4 10.0.0.5\r\ns=hotline\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
             m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
        );
    }

    #[test]
    fn baresip_offer_follows_offerers_order_and_keeps_telephone_event() {
        let offer = Offer::parse(BARESIP).unwrap();
        assert_eq!(offer.media[0].fmtp(101), Some("0-16"));
        let a = answer(&offer, local()).unwrap();
        assert_eq!(a.audio.codec, Codec::Pcma);
        assert_eq!(a.audio.pt, 8);
        assert_eq!(a.audio.telephone_event_pt, Some(101));
        assert_eq!(a.audio.remote_ptime, Some(20));
        let body = a.to_sdp(&mut SessionVersion::new(1, 5));
        assert!(body.contains("m=audio 30000 RTP/AVP 8 101\r\n"), "{body}");
        assert!(body.contains("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"));
        assert!(body.contains("a=rtpmap:8 PCMA/8000\r\n"));
    }

    #[test]
    fn local_preference_filters_codecs() {
        let offer = Offer::parse(BARESIP).unwrap();
        let only_pcmu = LocalMedia {
            prefer: vec![Codec::Pcmu],
            ..local()
        };
        let a = answer(&offer, only_pcmu).unwrap();
        assert_eq!((a.audio.codec, a.audio.pt), (Codec::Pcmu, 0));
    }

    #[test]
    fn dynamic_pt_named_pcmu_is_accepted() {
        let sdp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 96 97\r\n\
                   a=rtpmap:96 opus/48000/2\r\na=rtpmap:97 pcmu/8000\r\n";
        let a = answer_of(sdp).unwrap();
        assert_eq!((a.audio.codec, a.audio.pt), (Codec::Pcmu, 97));
    }

    #[test]
    fn no_common_codec() {
        let sdp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 9 18 96\r\n\
                   a=rtpmap:96 opus/48000/2\r\n";
        assert_eq!(answer_of(sdp).unwrap_err(), SdpError::NoCommonCodec);
        // pt 0 remapped to a wide-band clock is not G.711.
        let sdp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/16000\r\n";
        assert_eq!(answer_of(sdp).unwrap_err(), SdpError::NoCommonCodec);
    }

    #[test]
    fn no_audio_and_missing_connection() {
        let sdp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5000 RTP/AVP 96\r\n";
        assert_eq!(answer_of(sdp).unwrap_err(), SdpError::NoAudio);
        let sdp = "v=0\r\nm=audio 5000 RTP/AVP 0\r\n";
        assert_eq!(answer_of(sdp).unwrap_err(), SdpError::NoConnection);
    }

    #[test]
    fn other_and_zero_port_lines_are_rejected_in_place() {
        let sdp = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 0 RTP/AVP 0\r\nm=video 5002 RTP/AVP 96\r\n\
                   m=audio 5000 RTP/AVP 8\r\nc=IN IP4 5.6.7.8\r\nm=audio 5004 RTP/AVP 0\r\n";
        let a = answer_of(sdp).unwrap();
        assert_eq!(a.audio.index, 2);
        assert_eq!(a.audio.remote_ip, "5.6.7.8".parse::<IpAddr>().unwrap());
        let body = a.to_sdp(&mut SessionVersion::new(1, 1));
        let m: Vec<&str> = body.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(
            m,
            [
                "m=audio 0 RTP/AVP 0",
                "m=video 0 RTP/AVP 96",
                "m=audio 30000 RTP/AVP 8",
                "m=audio 0 RTP/AVP 0"
            ]
        );
    }

    #[test]
    fn hold_and_resume_mirror_direction_and_bump_version() {
        let mut version = SessionVersion::new(9, 100);
        let first = answer_of(SIPP_CALLER).unwrap().to_sdp(&mut version);
        assert!(first.contains("o=hotline 9 100 "));

        let hold = SIPP_CALLER.replace("a=sendrecv", "a=sendonly");
        let a = answer_of(&hold).unwrap();
        assert_eq!(a.audio.direction, Direction::RecvOnly);
        let body = a.to_sdp(&mut version);
        assert!(body.contains("o=hotline 9 101 ") && body.ends_with("a=recvonly\r\n"));

        let inactive = SIPP_CALLER.replace("a=sendrecv", "a=inactive");
        assert_eq!(
            answer_of(&inactive).unwrap().audio.direction,
            Direction::Inactive
        );
        let recvonly = SIPP_CALLER.replace("a=sendrecv", "a=recvonly");
        assert_eq!(
            answer_of(&recvonly).unwrap().audio.direction,
            Direction::SendOnly
        );

        let resume = answer_of(SIPP_CALLER).unwrap().to_sdp(&mut version);
        assert!(resume.contains("o=hotline 9 102 ") && resume.ends_with("a=sendrecv\r\n"));
    }

    #[test]
    fn direction_defaults_and_session_level() {
        let none = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(
            answer_of(none).unwrap().audio.direction,
            Direction::SendRecv
        );
        let session = "v=0\r\nc=IN IP4 1.2.3.4\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(
            answer_of(session).unwrap().audio.direction,
            Direction::RecvOnly
        );
        // Media level overrides session level.
        let both =
            "v=0\r\nc=IN IP4 1.2.3.4\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n";
        assert_eq!(
            answer_of(both).unwrap().audio.direction,
            Direction::SendRecv
        );
        // RFC 2543 hold.
        let old_hold = "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(
            answer_of(old_hold).unwrap().audio.direction,
            Direction::RecvOnly
        );
    }

    #[test]
    fn ipv6_answer_and_offer() {
        let sdp = "v=0\nc=IN IP6 2001:db8::1\nm=audio 4000 RTP/AVP 0\n";
        let local6 = LocalMedia {
            ip: "2001:db8::5".parse().unwrap(),
            ..local()
        };
        let a = answer(&Offer::parse(sdp).unwrap(), local6).unwrap();
        assert_eq!(a.audio.remote_ip, "2001:db8::1".parse::<IpAddr>().unwrap());
        assert!(
            a.to_sdp(&mut SessionVersion::new(1, 1))
                .contains("c=IN IP6 2001:db8::5\r\n")
        );
    }

    fn malformed_line(sdp: &str) -> usize {
        match Offer::parse(sdp) {
            Err(SdpError::Malformed { line, .. }) => line,
            other => panic!("expected a malformed error, got {other:?}"),
        }
    }

    #[test]
    fn malformed_lines_report_their_number() {
        assert_eq!(malformed_line(""), 1);
        assert_eq!(malformed_line("o=x 1 1 IN IP4 1.2.3.4\r\n"), 1);
        assert_eq!(malformed_line("v=1\r\n"), 1);
        assert_eq!(malformed_line("v=0\r\nthis is not sdp\r\n"), 2);
        assert_eq!(malformed_line("v=0\r\nc=IN IP4 300.1.1.1\r\n"), 2);
        assert_eq!(malformed_line("v=0\r\nc=IN IP6 1.2.3.4\r\n"), 2);
        assert_eq!(malformed_line("v=0\r\nc=IN IP4\r\n"), 2);
        assert_eq!(
            malformed_line("v=0\r\ns=-\r\nm=audio port RTP/AVP 0\r\n"),
            3
        );
        assert_eq!(malformed_line("v=0\r\nm=audio 4000 RTP/AVP\r\n"), 2);
        assert_eq!(
            malformed_line("v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n"),
            3
        );
        assert_eq!(
            malformed_line("v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:300 X/8000\r\n"),
            3
        );
        assert_eq!(
            malformed_line("v=0\r\nm=audio 4000 RTP/AVP 0\r\n\r\na=ptime:abc\r\n"),
            4
        );
        assert_eq!(
            malformed_line("v=0\r\nm=audio 4000 RTP/AVP 0\r\na=fmtp:101\r\n"),
            3
        );
        let err = Offer::parse("v=0\r\nc=IN IP4 300.1.1.1\r\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "SDP line 2: bad connection address \"300.1.1.1\""
        );
    }

    #[test]
    fn unknown_lines_and_attributes_are_ignored() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\ni=info\r\nc=IN IP4 1.2.3.4\r\n\
                   b=AS:80\r\nt=0 0\r\nm=audio 4000/2 RTP/AVP 0\r\na=rtcp:4001\r\na=x-foo\r\n";
        let offer = Offer::parse(sdp).unwrap();
        assert_eq!(offer.media[0].port, 4000);
        assert!(answer(&offer, local()).is_ok());
    }
}
