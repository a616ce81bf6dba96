//! Feature codes dialed from an agent's phone. `*110` (the prefix is
//! `hotline.emergency_feature_prefix`): the one-key emergency transfer of the call the agent
//! is on (T5), for agents without a desktop. The phone rings while the emergency line's trunk
//! does; when the trunk has the citizen, the key call is answered and ended at once (the
//! phone shows it went through), else it is refused with the reason in a Warning.

use crate::anchored::CallControl;
use crate::caller_leg;
use crate::core::Core;
use crate::msg;
use hotline_cdr::{CallKind, EndReason};
use hotline_media::sdp::{self, Codec, LocalMedia, Offer, SessionVersion};
use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::info;

/// The emergency number behind a dialed feature code, if it is one.
pub(crate) fn emergency_code(core: &Core, user: Option<&str>) -> Option<String> {
    let prefix = core.cfg.emergency_feature_prefix.as_deref()?;
    let number = user?.strip_prefix(prefix)?;
    let line = core.cfg.numbers.line(number)?;
    (line.mode == "emergency").then(|| number.to_string())
}

pub(crate) async fn emergency(
    core: Arc<Core>,
    dialogs: Arc<DialogLayer>,
    mut tx: Transaction,
    number: String,
) {
    let agent = msg::uri_user(msg::from_value(&tx.original))
        .unwrap_or_default()
        .to_string();
    // The key call is a call too: it leaves its record (route `key:110 > …`).
    let mut record = core.new_record(&tx.original, CallKind::Emergency, tx.connection.as_ref());
    let refuse = |code: u16, why: String| (code, why);
    let outcome = async {
        let acd = core
            .acd
            .get()
            .ok_or_else(|| refuse(480, "no ACD: the key works for agents' calls".into()))?;
        let tag = match acd.talking_call(&agent).await {
            Ok(Some(tag)) => tag,
            Ok(None) => {
                return Err(refuse(
                    480,
                    format!("agent {agent} is on no call to transfer"),
                ));
            }
            Err(crate::acd::AcdApiError::Acd(hotline_acd::AcdError::NoAgent(_))) => {
                return Err(refuse(403, format!("`{agent}` is not an agent")));
            }
            Err(e) => return Err(refuse(503, e.to_string())),
        };
        let control = core
            .controls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tag)
            .cloned()
            .ok_or_else(|| refuse(480, "the call just ended".into()))?;
        tx.reply(StatusCode::Ringing).await.ok();
        let (reply, rx) = tokio::sync::oneshot::channel();
        control
            .send(CallControl::Emergency {
                number: number.clone(),
                stay: false,
                reply,
            })
            .map_err(|_| refuse(480, "the call just ended".into()))?;
        let wait = core.cfg.ring_timeout + Duration::from_secs(5);
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(Ok(_))) => Ok(tag),
            Ok(Ok(Err(why))) => Err(refuse(503, why)),
            _ => Err(refuse(408, format!("{number} did not answer"))),
        }
    }
    .await;
    match outcome {
        Ok(tag) => {
            info!(%agent, %number, record = %tag, "emergency key from the phone: transferred");
            record.route(format!("key:{number} > transferred:{tag}"));
            record.answered(Some(agent.clone()), chrono::Utc::now());
            answer_and_end(&core, &dialogs, tx).await;
            core.finish_record(record, EndReason::IvrCompleted, 200);
        }
        Err((code, why)) => {
            info!(%agent, %number, code, %why, "emergency key from the phone refused");
            record.route(format!("key:{number} > refused"));
            core.finish_record(record, EndReason::Rejected, code);
            tx.reply_with(
                StatusCode::from(code),
                vec![msg::warning("hotline", &why)],
                None,
            )
            .await
            .ok();
        }
    }
}

/// Answers the key call with an inactive stream (no media is needed) and hangs it up once
/// the phone has acknowledged: the phone shows that the key went through.
async fn answer_and_end(core: &Core, dialogs: &DialogLayer, tx: Transaction) {
    let body = inactive_answer(core, &tx);
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<DialogState>();
    let Some(d) = caller_leg::start(core, dialogs, tx, &ev_tx, |s| s).await else {
        return;
    };
    let ct = vec![Header::ContentType("application/sdp".into())];
    if d.accept(Some(ct), body.map(String::into_bytes)).is_ok() {
        let confirmed = async {
            while let Some(st) = ev_rx.recv().await {
                match st {
                    DialogState::Confirmed(..) => return true,
                    DialogState::Terminated(..) => return false,
                    _ => {}
                }
            }
            false
        };
        if tokio::time::timeout(Duration::from_secs(5), confirmed)
            .await
            .unwrap_or(false)
        {
            d.bye().await.ok();
        }
    }
    dialogs.remove_dialog(&d.id());
}

/// An answer to the phone's offer with the direction set to inactive.
fn inactive_answer(core: &Core, tx: &Transaction) -> Option<String> {
    let text = std::str::from_utf8(&tx.original.body).ok()?;
    let offer = Offer::parse(text).ok()?;
    let ip = core.advertised.addr.host.to_string().parse().ok()?;
    let answer = sdp::answer(
        &offer,
        LocalMedia {
            ip,
            port: 9,
            prefer: vec![Codec::Pcmu, Codec::Pcma],
        },
    )
    .ok()?;
    let mut version = SessionVersion::new(1, 1);
    Some(
        answer
            .to_sdp(&mut version)
            .replace("a=sendrecv", "a=inactive"),
    )
}
