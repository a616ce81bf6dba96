//! The work orders' roles in the knowledge base: the center's supervisors are its maintenance
//! team (they review and may edit any entry), a unit's staff and head edit their own unit's
//! entries, agents read.

use hotline_kb::{Actor, KbRole};
use hotline_workorder::{Actor as OrderActor, Role};

pub fn kb_actor(a: &OrderActor) -> Actor {
    let role = match &a.role {
        Role::Supervisor | Role::Admin => KbRole::Maintainer,
        Role::UnitStaff(u) | Role::UnitHead(u) => KbRole::UnitEditor(u.clone()),
        _ => KbRole::Reader,
    };
    Actor {
        id: a.id.clone(),
        role,
    }
}
