//! Channel adapters: each turns its wire format into conversations and messages and sends
//! replies back out. Everything after intake is channel-neutral.

pub mod chat;
pub mod email;
pub mod voice;

/// Register how each channel's public replies leave (see `conversations::outbound`).
pub fn register_outbound(o: &mut crate::conversations::outbound::Outbound) {
    email::register_outbound(o);
    chat::register_outbound(o);
    voice::register_outbound(o);
}
