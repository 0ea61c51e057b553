//! Switchboard: an omnichannel contact-center and ticketing server.
#![forbid(unsafe_code)]

pub mod agents;
pub mod app;
pub mod auth;
pub mod bus;
pub mod business_hours;
pub mod canned;
pub mod channels;
pub mod console;
pub mod conversations;
pub mod customers;
pub mod demo;
pub mod error;
pub mod event_log;
pub mod events;
pub mod limits;
pub mod openapi;
pub mod orders;
pub mod pagination;
pub mod queues;
pub mod reports;
pub mod routing;
pub mod search;
pub mod secrets;
pub mod serve;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
pub mod teams;
pub mod uploads;
pub mod validate;
pub mod value;
pub mod webhooks;

pub use app::Application;
pub use settings::Settings;
