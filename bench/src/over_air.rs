//! Unlocks against a simulator-provisioned virtual lock over `MemoryTransport` at MTU 185, recorded message
//! by message ([`unlock`], also used by the tap-to-open model in `tap`). Figures of one full unlock: round
//! trips, bytes over the air (ATT payloads, both directions, Hello included) and the modelled time at a 30 ms
//! connection interval (`LinkModel`: one connection event per packet).

use std::time::Duration;

use latchkey::ble::{Link, LinkStats, Transport};
use latchkey_protocol::credential::Credential;
use latchkey_protocol::crypto::{DhSecret, PublicKey, SigningKey};
use latchkey_protocol::framing::{Fragmenter, Reassembler};
use latchkey_protocol::unlock::{
    Command, PhoneOutcome, PhoneStep, PhoneTicket, PhoneUnlock, PhoneUnlockParams, ResultCode,
};
use latchkey_sim::backend::lockside::{self, keys::random_signing_key};
use latchkey_sim::backend::state::random_bytes;
use latchkey_sim::link::{LinkModel, MemoryTransport};

use crate::support::{World, permanent};
use crate::{Effort, Figures};

const WAIT: Duration = Duration::from_secs(1);

/// Who sent a message over the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Phone,
    Lock,
}

/// One message of an exchange as it crossed the link: who sent it and in how many ATT packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub from: Side,
    pub packets: u32,
}

/// One unlock as it crossed the in-memory link: its messages in order, the link's own counts, the outcome.
pub struct Recorded {
    pub messages: Vec<Sent>,
    pub stats: LinkStats,
    pub outcome: PhoneOutcome,
}

/// Receives one whole message; returns it and the packets it took.
async fn receive(link: &mut dyn Link, inbound: &mut Reassembler) -> Result<(Vec<u8>, u32), String> {
    let mut packets = 0;
    loop {
        let packet = link.receive(WAIT).await.map_err(|e| e.to_string())?;
        packets += 1;
        if let Some(message) = inbound.push(&packet).map_err(|e| e.to_string())? {
            return Ok((message, packets));
        }
    }
}

/// A phone unlock of `lock_id` through `transport` with the protocol's `PhoneUnlock` and framing, recording
/// each message. With `ticket`, the phone offers the fast path.
pub async fn unlock(
    transport: &MemoryTransport,
    lock_id: [u8; 16],
    lock_static_pub: PublicKey,
    credential: Credential,
    device: &SigningKey,
    ticket: Option<PhoneTicket>,
) -> Result<Recorded, String> {
    let ephemeral = loop {
        if let Ok(key) = DhSecret::from_bytes(&random_bytes::<32>()) {
            break key;
        }
    };
    let mut phone = PhoneUnlock::new(PhoneUnlockParams {
        lock_id,
        lock_static_pub,
        credential,
        command: Command::Unlock,
        ephemeral,
        ticket,
    });
    let mut link = transport.connect(lock_id, WAIT).await.map_err(|e| e.to_string())?;
    let mut out = Fragmenter::new(link.mtu()).map_err(|e| e.to_string())?;
    let mut inbound = Reassembler::new(link.mtu()).map_err(|e| e.to_string())?;
    link.subscribe().await.map_err(|e| e.to_string())?;
    let mut messages = Vec::new();
    let (mut message, packets) = receive(link.as_mut(), &mut inbound).await?;
    messages.push(Sent { from: Side::Lock, packets });
    let outcome = loop {
        match phone.handle(&message, device).map_err(|e| e.to_string())? {
            PhoneStep::Send(request) => {
                let fragments = out.fragment(&request).map_err(|e| e.to_string())?;
                messages.push(Sent { from: Side::Phone, packets: fragments.len() as u32 });
                for packet in fragments {
                    link.write(&packet).await.map_err(|e| e.to_string())?;
                }
                let (reply, packets) = receive(link.as_mut(), &mut inbound).await?;
                messages.push(Sent { from: Side::Lock, packets });
                message = reply;
            }
            PhoneStep::Done(outcome) => break outcome,
        }
    };
    let stats = link.stats();
    link.disconnect().await;
    Ok(Recorded { messages, stats, outcome })
}

/// The lobby of the integration tests' world, ready for bench unlocks: a user invited there, a device key, a
/// credential the backend issued for it, and the in-memory link with `model`.
pub struct LobbyUnlock {
    transport: MemoryTransport,
    lock_id: [u8; 16],
    lock_static_pub: PublicKey,
    credential: Credential,
    device: SigningKey,
}

impl LobbyUnlock {
    pub async fn set_up(w: &World, model: LinkModel) -> Result<LobbyUnlock, String> {
        let state = w.sim.state().clone();
        let transport = MemoryTransport::new(state.locks.clone());
        transport.set_model(model);
        let lobby = &w.p.doors.lobby;
        let user =
            w.a.create_user_v2(&permanent("bench@example.com", &[lobby], w.now()))
                .await
                .map_err(|e| e.to_string())?
                .user_uuid;
        let device = random_signing_key().1;
        let now = w.now();
        let bytes = state
            .db
            .read(|conn| {
                lockside::issue_credential(
                    conn,
                    &state.lock_keys,
                    &user,
                    &lobby.uuid,
                    device.public_key().to_bytes(),
                    now,
                )
            })
            .map_err(|e| format!("{e:?}"))?;
        let credential = Credential::decode(&bytes).map_err(|e| e.to_string())?;
        let info = state
            .db
            .read(|conn| lockside::lock_info(conn, &lobby.uuid))
            .map_err(|e| format!("{e:?}"))?
            .ok_or("the lobby has no lock")?;
        let lock_id = lockside::lock_id(&lobby.uuid).map_err(|e| format!("{e:?}"))?;
        let lock_static_pub = PublicKey::from_bytes(&info.lock_public_key).map_err(|e| e.to_string())?;
        Ok(LobbyUnlock { transport, lock_id, lock_static_pub, credential, device })
    }

    /// One unlock; fails unless the lock grants it.
    pub async fn unlock(&self, ticket: Option<PhoneTicket>) -> Result<Recorded, String> {
        let recorded = unlock(
            &self.transport,
            self.lock_id,
            self.lock_static_pub,
            self.credential,
            &self.device,
            ticket,
        )
        .await?;
        if recorded.outcome.result != ResultCode::Granted {
            return Err(format!("the bench unlock was not granted: {:?}", recorded.outcome.result));
        }
        Ok(recorded)
    }
}

/// Measures `unlock_round_trips`, `unlock_bytes_over_air`, `unlock_packets` and `unlock_modelled_ms_ci30`.
pub fn measure(_effort: Effort, figures: &mut Figures) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let w = World::start().await;
        let model = LinkModel { connection_interval_ms: 30, mtu: 185 };
        let lobby = LobbyUnlock::set_up(&w, model).await?;
        let recorded = lobby.unlock(None).await?;
        let stats = recorded.stats;
        figures.insert("unlock_round_trips".into(), f64::from(stats.round_trips));
        figures.insert("unlock_bytes_over_air".into(), f64::from(stats.bytes_sent + stats.bytes_received));
        figures.insert("unlock_packets".into(), f64::from(stats.packets_sent + stats.packets_received));
        figures.insert("unlock_modelled_ms_ci30".into(), crate::ms(model.modelled_time(&stats)));
        w.sim.stop().await.map_err(|e| e.to_string())?;
        Ok(())
    })
}
