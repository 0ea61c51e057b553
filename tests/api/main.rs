//! Integration tests: the real server on port 0, over HTTP, on SQLite and PostgreSQL.

mod helpers;
mod imports;

mod auth;
mod bad_input;
mod bus;
mod business_hours;
mod canned;
mod chat;
mod cli;
mod console;
mod conversations;
mod customer_merge_preview;
mod customers;
mod directory;
mod email;
mod event_log;
mod faults;
mod first_run;
mod list_shapes;
mod newcomer;
mod openapi;
mod reports;
mod routing;
mod search;
mod secrets_at_rest;
mod sqlite;
mod statistics;
mod teams;
mod value;
mod voice;
mod webhooks;
