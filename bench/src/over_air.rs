//! One full unlock against a simulator-provisioned virtual lock over `MemoryTransport` at MTU 185:
//! round trips, bytes over the air (ATT payloads, both directions, Hello included) and the modelled time
//! at a 30 ms connection interval (`LinkModel`: one connection event per packet).

use std::time::Duration;

use latchkey::ble::{Link, Transport};
use latchkey_protocol::credential::Credential;
use latchkey_protocol::crypto::{DhSecret, PublicKey};
use latchkey_protocol::framing::{Fragmenter, Reassembler};
use latchkey_protocol::unlock::{Command, PhoneStep, PhoneUnlock, PhoneUnlockParams, ResultCode};
use latchkey_sim::backend::lockside::{self, keys::random_signing_key};
use latchkey_sim::backend::state::random_bytes;
use latchkey_sim::link::{LinkModel, MemoryTransport};

use crate::support::{World, permanent};
use crate::{Effort, Figures};

const WAIT: Duration = Duration::from_secs(1);

async fn receive(link: &mut dyn Link, inbound: &mut Reassembler) -> Result<Vec<u8>, String> {
    loop {
        let packet = link.receive(WAIT).await.map_err(|e| e.to_string())?;
        if let Some(message) = inbound.push(&packet).map_err(|e| e.to_string())? {
            return Ok(message);
        }
    }
}

/// Measures `unlock_round_trips`, `unlock_bytes_over_air`, `unlock_packets` and `unlock_modelled_ms_ci30`.
pub fn measure(_effort: Effort, figures: &mut Figures) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let w = World::start().await;
        let state = w.sim.state().clone();
        let transport = MemoryTransport::new(state.locks.clone());
        let model = LinkModel { connection_interval_ms: 30, mtu: 185 };
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
        let ephemeral = loop {
            if let Ok(key) = DhSecret::from_bytes(&random_bytes::<32>()) {
                break key;
            }
        };
        let mut phone = PhoneUnlock::new(PhoneUnlockParams {
            lock_id,
            lock_static_pub: PublicKey::from_bytes(&info.lock_public_key).map_err(|e| e.to_string())?,
            credential,
            command: Command::Unlock,
            ephemeral,
            ticket: None,
        });
        let mut link = transport.connect(lock_id, WAIT).await.map_err(|e| e.to_string())?;
        let mut out = Fragmenter::new(link.mtu()).map_err(|e| e.to_string())?;
        let mut inbound = Reassembler::new(link.mtu()).map_err(|e| e.to_string())?;
        link.subscribe().await.map_err(|e| e.to_string())?;
        let mut message = receive(link.as_mut(), &mut inbound).await?;
        let outcome = loop {
            match phone.handle(&message, &device).map_err(|e| e.to_string())? {
                PhoneStep::Send(request) => {
                    for packet in out.fragment(&request).map_err(|e| e.to_string())? {
                        link.write(&packet).await.map_err(|e| e.to_string())?;
                    }
                    message = receive(link.as_mut(), &mut inbound).await?;
                }
                PhoneStep::Done(outcome) => break outcome,
            }
        };
        let stats = link.stats();
        link.disconnect().await;
        if outcome.result != ResultCode::Granted {
            return Err(format!("the bench unlock was not granted: {:?}", outcome.result));
        }
        figures.insert("unlock_round_trips".into(), f64::from(stats.round_trips));
        figures.insert("unlock_bytes_over_air".into(), f64::from(stats.bytes_sent + stats.bytes_received));
        figures.insert("unlock_packets".into(), f64::from(stats.packets_sent + stats.packets_received));
        figures.insert("unlock_modelled_ms_ci30".into(), crate::ms(model.modelled_time(&stats)));
        w.sim.stop().await.map_err(|e| e.to_string())?;
        Ok(())
    })
}
