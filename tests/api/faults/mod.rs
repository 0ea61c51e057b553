//! Faults and hostile traffic: services that go away and come back, floods, abuse.

mod database;
mod event_outage;
mod exposure;
mod listener;
mod login;
mod mailbox;
mod origin;
mod proxies;
mod redis_outage;
pub mod services;
mod sessions;
