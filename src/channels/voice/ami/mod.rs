//! The PBX over the Asterisk Manager Interface (AMI): a worker per configured PBX
//! (`voice.ami_url`, more in `[[voice.pbx]]`) logs in, follows the call events of Asterisk
//! 13–20 ([`track`]) and turns them into the ringing pop-up, call entries ([`calls`]) and the
//! agents' phone state ([`phone`]); click-to-call sends `Originate` over a short connection of
//! its own (`super::originate`).
//!
//! Only one node follows a PBX at a time: the worker holds a lease on the PBX's row of
//! `voice_pbx_links` (renewed while connected, as the router's lease), which also tells every
//! node how the link is (`GET /api/v1/channels/voice/pbx`). An unreachable PBX is retried with a
//! growing wait (at most `voice.ami_max_backoff_secs`); a refused login is logged as such and
//! retried every `voice.ami_auth_retry_secs`, never hammering the PBX (Asterisk bans nothing,
//! but fail2ban on Issabel does).

pub mod calls;
pub mod conn;
pub mod phone;
pub mod status;
pub mod track;
mod worker;

use crate::settings::VoiceSettings;
use crate::state::AppState;
use secrecy::ExposeSecret;
use switchboard_ami::AmiUrl;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The name of the PBX of `voice.ami_url`.
pub const DEFAULT_PBX: &str = "default";

/// One PBX to follow.
#[derive(Debug, Clone)]
pub struct Pbx {
    pub name: String,
    pub url: AmiUrl,
}

/// The configured PBXes: `voice.ami_url` (named `default`), then `[[voice.pbx]]`. A URL that
/// does not parse is logged and left out.
pub fn configured(settings: &VoiceSettings) -> Vec<Pbx> {
    let main = (
        DEFAULT_PBX.to_string(),
        settings.ami_url.expose_secret().to_string(),
    );
    let more = settings.pbx.iter().map(|p| {
        (
            p.name.trim().to_string(),
            p.ami_url.expose_secret().to_string(),
        )
    });
    let mut out: Vec<Pbx> = Vec::new();
    for (name, url) in std::iter::once(main).chain(more) {
        if url.trim().is_empty() || out.iter().any(|p| p.name == name) {
            continue;
        }
        match AmiUrl::parse(&url) {
            Ok(url) => out.push(Pbx { name, url }),
            Err(e) => tracing::error!(pbx = %name, error = %e, "PBX not followed"),
        }
    }
    out
}

/// A worker per configured PBX, stopped by `stop`.
pub fn spawn_workers(state: &AppState, stop: CancellationToken) -> Vec<JoinHandle<()>> {
    configured(&state.settings.voice)
        .into_iter()
        .map(|pbx| tokio::spawn(worker::run(state.clone(), pbx, stop.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::configured;
    use crate::settings::Settings;
    use std::io::Write;

    #[test]
    fn the_main_pbx_and_the_listed_ones_are_followed_bad_urls_left_out() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let toml = r#"
[voice]
ami_url = "ami://crm:s3cret@10.0.0.1:5038"

[[voice.pbx]]
name = "branch"
ami_url = "amis://crm:other@pbx.branch.example"

[[voice.pbx]]
name = "broken"
ami_url = "http://crm:x@10.0.0.3"
"#;
        file.write_all(toml.as_bytes()).unwrap();
        let settings = Settings::load(Some(file.path())).unwrap();
        let pbxes = configured(&settings.voice);
        let names: Vec<&str> = pbxes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["default", "branch"]);
        assert_eq!(
            (pbxes[0].url.host.as_str(), pbxes[0].url.tls),
            ("10.0.0.1", false)
        );
        assert_eq!((pbxes[1].url.port, pbxes[1].url.tls), (5039, true));
        assert_eq!(settings.voice.originate_context, "from-internal");
        assert_eq!(settings.voice.originate_timeout_seconds, 30);
        assert!(
            configured(&Settings::defaults().voice).is_empty(),
            "none by default"
        );
    }
}
