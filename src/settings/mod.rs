//! Typed settings: `config/default.toml` (embedded), an optional extra TOML file, then
//! environment variables (`SWITCHBOARD__SECTION__KEY` plus a few documented short names).

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::Deserialize;
use std::path::{Path, PathBuf};

mod sections;
pub use sections::{
    parse_segment_points, segment_points, EventLogSettings, ReportSettings, ValueSettings,
};

/// The defaults shipped with the binary, so `switchboard` runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub text: TextSettings,
    pub limits: LimitSettings,
    pub webhooks: WebhookSettings,
    pub voice: VoiceSettings,
    pub routing: RoutingSettings,
    pub email: EmailSettings,
    pub chat: ChatSettings,
    pub value: ValueSettings,
    pub reports: ReportSettings,
    pub logging: LoggingSettings,
    pub events: EventLogSettings,
    pub security: crate::secrets::SecuritySettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub data_dir: PathBuf,
    pub max_body_bytes: usize,
    pub shutdown_grace_secs: u64,
    /// Connections served at once.
    pub max_connections: usize,
    /// Deadline for a request's headers, and for the next request on an idle connection.
    pub header_read_timeout_secs: u64,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// The address browsers use to reach the server (e.g. `https://support.example.com`).
    pub public_url: String,
    /// Serve `/metrics` to any client (false: loopback clients only).
    pub metrics_public: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// Kept secret: a PostgreSQL URL may carry a password.
    pub url: SecretString,
    pub max_connections: u32,
    /// Longest wait for a pooled connection, in milliseconds (then 503 `database_unavailable`).
    pub acquire_timeout_ms: u64,
    /// SQLite `PRAGMA synchronous`: `normal` or `full`.
    pub sqlite_synchronous: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub url: SecretString,
    pub channel_prefix: String,
    /// Events waiting to go to Redis before new ones are dropped (counted, logged).
    pub publish_queue: usize,
    /// Longest wait between reconnection attempts, in milliseconds.
    pub max_backoff_ms: u64,
    /// Longest wait for one Redis command or connection attempt, in milliseconds.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub session_ttl_hours: u64,
    pub cookie_secure: bool,
    pub login_attempts_per_minute: u32,
    /// Login attempts allowed per minute from one client address (any accounts).
    pub login_attempts_per_minute_per_ip: u32,
    /// Password hashes computed at once (argon2id: ~19 MiB each); others wait.
    pub max_concurrent_hashes: usize,
    /// How long a login waits for a hashing slot before `429`, in milliseconds.
    pub hash_wait_ms: u64,
    /// How long a caller resolved from a token is kept before it is read again, in ms
    /// (0: every request reads its token); see `crate::auth::cache`.
    pub token_cache_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TextSettings {
    pub default_region: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    pub max_name_chars: usize,
    pub max_message_chars: usize,
    pub max_page_size: usize,
    /// Most matching messages (and, apart, subjects) a search ranks: the newest ones.
    pub search_ranked_matches: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    pub max_attempts: u32,
    pub retry_base_secs: u64,
    pub timeout_secs: u64,
    pub poll_interval_ms: u64,
    /// Allow webhook URLs on loopback/private/link-local addresses (off: SSRF protection).
    pub allow_private_targets: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChatSettings {
    pub max_message_chars: usize,
    pub messages_per_second: u32,
    pub message_burst: u32,
    pub sockets_per_ip: usize,
    pub ping_secs: u64,
    pub idle_timeout_secs: u64,
    pub hello_timeout_secs: u64,
    /// New visitors (browsers without a visitor token) per client address per hour.
    pub new_visitors_per_ip_per_hour: u32,
    /// New conversations opened from the widget per client address per hour.
    pub conversations_per_ip_per_hour: u32,
    /// Widget upload volume per client address per hour, in MiB.
    pub upload_mib_per_ip_per_hour: u32,
    /// Uploads no message used are removed after this many hours (0: kept).
    pub unused_upload_hours: u64,
    /// Days a visitor token stays valid; every visit issues a fresh one.
    pub visitor_token_days: u64,
    /// Hours a signed attachment URL given to a widget stays valid.
    pub attachment_url_hours: u64,
}

impl ChatSettings {
    /// Seconds a signed attachment URL stays valid.
    pub fn attachment_url_secs(&self) -> u64 {
        self.attachment_url_hours.max(1) * 3600
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct EmailSettings {
    pub imap_poll_secs: u64,
    pub imap_lease_secs: u64,
    /// PEM bundle of additional trusted roots for IMAP and SMTP TLS; empty = none.
    pub extra_ca_file: String,
    /// Allow mailbox IMAP/SMTP hosts on loopback/private/link-local addresses.
    pub allow_private_hosts: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RoutingSettings {
    pub offer_timeout_secs: i64,
    pub first_response_minutes: i64,
    pub vip_first_response_minutes: i64,
    pub resolution_hours: i64,
    pub vip_resolution_hours: i64,
    pub vip_priority_boost: i32,
    /// In queues with `serve_by_value`: priority added per RFM segment, as
    /// `segment=points` pairs (checked when the settings load).
    #[serde(deserialize_with = "segment_points")]
    pub value_segment_priority: Vec<(String, i32)>,
    /// ...plus one point per this much lifetime value (0 turns CLV points off)...
    pub value_clv_step: f64,
    /// ...up to this many points.
    pub value_clv_max: i32,
    pub sticky_window_days: i64,
    pub sticky_max_wait_secs: i64,
    pub console_grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VoiceSettings {
    pub tail: String,
    /// Largest call or fax log accepted by one upload (read as a stream, stored in pieces).
    pub max_upload_bytes: u64,
    pub pbx_utc_offset_secs: i32,
    pub callback_queue: String,
    /// Missed calls from one number within this many minutes join one callback conversation.
    pub callback_window_mins: u32,
    /// A live (CTI) call still ringing after this many seconds is closed as missed.
    pub stale_ringing_secs: u32,
    /// An answered live call with no event for this many seconds is closed as answered.
    pub stale_answered_secs: u32,
    /// A PBX log record (CDR) and a live-event (CTI) entry of one customer, same direction,
    /// starting at most this many seconds apart, are one call (stored once); 0 turns it off.
    pub cti_match_secs: u32,
    /// The PBX's Asterisk Manager Interface, `ami://USER:SECRET@HOST:5038` (`amis://` for
    /// TLS); empty: none. More PBXes go in [`Self::pbx`].
    pub ami_url: SecretString,
    /// More PBXes (`[[voice.pbx]]` with `name` and `ami_url`).
    #[serde(default)]
    pub pbx: Vec<PbxSettings>,
    /// Dialplan context click-to-call calls the customer's number in.
    pub originate_context: String,
    /// How long the agent's phone rings for a click-to-call, in seconds.
    pub originate_timeout_seconds: u32,
    /// Caller id shown on click-to-call calls (empty: the PBX's own).
    pub originate_caller_id: String,
    /// The channel rung first on a click-to-call, `{extension}` being the agent's extension.
    pub originate_channel: String,
    /// A node follows a PBX under a lease this long, renewed while connected.
    pub ami_lease_secs: u32,
    /// Longest wait between two connection attempts to a PBX that cannot be reached.
    pub ami_max_backoff_secs: u32,
    /// Wait before logging in again after the PBX refused the user or secret.
    pub ami_auth_retry_secs: u32,
    /// The PBX's CDR database (`mysql://USER:PASS@HOST:3306/asteriskcdrdb`); empty: not read.
    pub cdr_database_url: SecretString,
    /// Table of the CDR database holding the call records (FreePBX: `cdr`).
    pub cdr_table: String,
    /// Seconds between two reads of the CDR database.
    pub cdr_poll_secs: u64,
    /// A call is folded and stored once its last record ended this many seconds ago.
    pub cdr_settle_secs: u32,
    /// Records written this many seconds after their call ended are still picked up.
    pub cdr_lookback_secs: u32,
    /// Link of a call's recording, `{recordingfile}`, `{uniqueid}`, `{linkedid}` and
    /// `{calldate:%Y/%m/%d}` filled in; empty: no link.
    pub recording_url_template: String,
    /// Asterisk's queue log file to follow (`/var/log/asterisk/queue_log`); empty: none.
    pub queue_log: String,
    /// The queue log's table in the CDR database (realtime `queue_log`), e.g. `queuelog`.
    pub queue_log_table: String,
}

/// One more PBX followed over AMI.
#[derive(Debug, Clone, Deserialize)]
pub struct PbxSettings {
    pub name: String,
    pub ami_url: SecretString,
}

impl VoiceSettings {
    /// [`Self::callback_window_mins`] in milliseconds.
    pub fn callback_window_ms(&self) -> i64 {
        i64::from(self.callback_window_mins) * 60_000
    }

    /// [`Self::stale_ringing_secs`] in milliseconds.
    pub fn stale_ringing_ms(&self) -> i64 {
        i64::from(self.stale_ringing_secs) * 1000
    }

    /// [`Self::cti_match_secs`] in milliseconds.
    pub fn cti_match_ms(&self) -> i64 {
        i64::from(self.cti_match_secs) * 1000
    }

    /// [`Self::stale_answered_secs`] in milliseconds.
    pub fn stale_answered_ms(&self) -> i64 {
        i64::from(self.stale_answered_secs) * 1000
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LoggingSettings {
    pub level: String,
    pub format: String,
}

impl Settings {
    /// Load defaults, then `extra_file` (if given), then the environment.
    pub fn load(extra_file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::new().merge(Toml::string(DEFAULT_TOML));
        if let Some(path) = extra_file {
            fig = fig.merge(Toml::file_exact(path));
        }
        fig.merge(Env::prefixed("SWITCHBOARD__").split("__"))
            .merge(short_env("SWITCHBOARD_BIND", "server.bind"))
            .merge(short_env("SWITCHBOARD_DATA_DIR", "server.data_dir"))
            .merge(short_env("SWITCHBOARD_DATABASE_URL", "database.url"))
            .merge(short_env("SWITCHBOARD_REDIS_URL", "redis.url"))
            .extract()
            .map_err(Box::new)
    }

    /// Defaults only, ignoring the environment (tests build on this).
    pub fn defaults() -> Self {
        Figment::new()
            .merge(Toml::string(DEFAULT_TOML))
            .extract()
            .expect("embedded default.toml is valid")
    }
}

fn short_env(var: &'static str, key: &'static str) -> Env {
    Env::raw().only(&[var]).map(move |_| key.into()).split(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn environment_variables_override_the_defaults() {
        // The only test in this binary that touches these variables.
        std::env::set_var("SWITCHBOARD__AUTH__SESSION_TTL_HOURS", "12");
        std::env::set_var("SWITCHBOARD__TEXT__DEFAULT_REGION", "DE");
        std::env::set_var("SWITCHBOARD_BIND", "0.0.0.0:9999");
        std::env::set_var("SWITCHBOARD_DATA_DIR", "/srv/switchboard");
        std::env::set_var("SWITCHBOARD_DATABASE_URL", "postgres://sb@db/sb");
        std::env::set_var("SWITCHBOARD_REDIS_URL", "redis://cache:6379");
        let s = Settings::load(None).expect("settings load");
        assert_eq!(s.auth.session_ttl_hours, 12);
        assert_eq!(s.text.default_region, "DE");
        assert_eq!(s.server.bind, "0.0.0.0:9999");
        assert_eq!(s.server.data_dir, PathBuf::from("/srv/switchboard"));
        assert_eq!(s.database.url.expose_secret(), "postgres://sb@db/sb");
        assert_eq!(s.redis.url.expose_secret(), "redis://cache:6379");
        // Untouched settings keep their documented defaults.
        assert_eq!(s.limits.max_page_size, 200);
        assert!(
            !format!("{:?}", s.database.url).contains("sb@db"),
            "secrets are redacted in Debug"
        );
    }
}
