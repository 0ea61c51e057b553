//! Switchboard: an omnichannel contact-center and ticketing server.
#![forbid(unsafe_code)]

pub mod agents;
pub mod app;
pub mod auth;
pub mod bus;
pub mod channels;
pub mod console;
pub mod conversations;
pub mod customers;
pub mod error;
pub mod events;
pub mod orders;
pub mod pagination;
pub mod queues;
pub mod routing;
pub mod settings;
pub mod state;
pub mod store;
pub mod validate;
pub mod value;
pub mod webhooks;

pub use app::Application;
pub use settings::Settings;
