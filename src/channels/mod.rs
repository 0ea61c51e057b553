//! Channel adapters: each turns its wire format into conversations and messages and sends
//! replies back out. Everything after intake is channel-neutral.

pub mod chat;
pub mod email;
pub mod voice;
