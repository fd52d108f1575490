//! `$WARDEN_HOME/notify.toml`: who hears about asks and denials. A file of its own rather
//! than a table in the policy: a webhook URL is often a secret, and notifications are not
//! policy (they never change a decision).
//!
//! ```toml
//! [notify]
//! desktop = "asks"          # "off", "asks" (the default) or "asks-and-denials"
//! url = "https://ntfy.sh/my-topic"
//! on = ["ask", "deny"]      # what goes to the webhook (default ["ask"])
//! format = "ntfy"           # "json" (the default), "slack", "discord" or "ntfy"
//! ```
//!
//! Read when the daemon starts.

use std::path::Path;

use serde::Deserialize;

/// Largest notify.toml read.
const MAX_BYTES: u64 = 64 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    notify: Settings,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub desktop: Desktop,
    /// The webhook, if any.
    #[serde(default)]
    pub url: Option<String>,
    /// What the webhook hears about.
    #[serde(default = "asks_only")]
    pub on: Vec<Event>,
    #[serde(default)]
    pub format: Format,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            desktop: Desktop::default(),
            url: None,
            on: asks_only(),
            format: Format::default(),
        }
    }
}

fn asks_only() -> Vec<Event> {
    vec![Event::Ask]
}

/// Which decisions raise a desktop notification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Desktop {
    Off,
    #[default]
    Asks,
    AsksAndDenials,
}

/// What a person may be told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// An approval waits for a person.
    Ask,
    /// The policy refused a program start.
    Deny,
}

/// The shape of a webhook's request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// warden's own JSON document (see `webhook::json_document`).
    #[default]
    Json,
    /// A Slack incoming webhook: `{"text": …}`.
    Slack,
    /// A Discord webhook: `{"content": …}`.
    Discord,
    /// An ntfy topic: the text as the body, title and priority in headers.
    Ntfy,
}

/// Parses notify.toml's text; errors name the line (`origin:LINE: problem`).
pub fn parse(origin: &str, text: &str) -> Result<Settings, String> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        match line {
            Some(line) => format!("{origin}:{line}: {}", e.message()),
            None => format!("{origin}: {}", e.message()),
        }
    })?;
    let settings = file.notify;
    if let Some(url) = &settings.url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "{origin}: url must start with http:// or https://, not {:?}",
                url.split(':').next().unwrap_or_default()
            ));
        }
    }
    Ok(settings)
}

/// The settings in `path`; the defaults when it does not exist.
pub fn load(path: &Path) -> Result<Settings, String> {
    use std::io::Read;
    let origin = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
        Err(e) => return Err(format!("cannot read {origin}: {e}")),
    };
    let mut text = String::new();
    file.take(MAX_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {origin}: {e}"))?;
    if text.len() as u64 > MAX_BYTES {
        return Err(format!("{origin} is larger than {MAX_BYTES} bytes"));
    }
    parse(&origin, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_means_desktop_asks_and_no_webhook() {
        assert_eq!(parse("n", "").unwrap(), Settings::default());
        assert_eq!(Settings::default().desktop, Desktop::Asks);
        assert_eq!(Settings::default().url, None);
    }

    #[test]
    fn a_full_table_is_read() {
        let text = r#"
[notify]
desktop = "asks-and-denials"
url = "http://127.0.0.1:9/hook"
on = ["ask", "deny"]
format = "slack"
"#;
        let settings = parse("n", text).unwrap();
        assert_eq!(settings.desktop, Desktop::AsksAndDenials);
        assert_eq!(settings.on, [Event::Ask, Event::Deny]);
        assert_eq!(settings.format, Format::Slack);
    }

    #[test]
    fn mistakes_name_the_line() {
        let err = parse("notify.toml", "[notify]\n\ndesktop = \"loud\"\n").unwrap_err();
        assert!(err.starts_with("notify.toml:3: "), "{err}");
        let err = parse("notify.toml", "[notify]\nurl = \"file:///etc/passwd\"\n").unwrap_err();
        assert!(err.contains("http:// or https://"), "{err}");
        let err = parse("notify.toml", "[notify]\nbogus = 1\n").unwrap_err();
        assert!(err.contains("unknown field `bogus`"), "{err}");
    }
}
