//! Running the watcher as a service of the user's session: a systemd user unit on Linux, a
//! launchd agent on macOS. agent-cost writes (or removes) the file and says how to start (or
//! stop) it; it never runs `systemctl` or `launchctl` itself.

use std::path::{Path, PathBuf};

use agent_cost_paths::env_vars;

/// The systemd unit's name.
pub const SYSTEMD_UNIT: &str = "agent-cost-watch.service";
/// The launchd agent's label.
pub const LAUNCHD_LABEL: &str = "dev.agent-cost.watch";

/// The variables that say where agent-cost and the agents keep their files: passed on to the
/// service when set, so it watches what this shell's commands see.
pub const PASSED_ON: [&str; 9] = [
    env_vars::AGENT_COST_HOME,
    env_vars::CLAUDE_CONFIG_DIR,
    env_vars::CODEX_HOME,
    env_vars::COPILOT_HOME,
    env_vars::GEMINI_CLI_HOME,
    env_vars::OPENCODE_DB,
    env_vars::AGENT_COST_OPENCODE_DIR,
    env_vars::XDG_CONFIG_HOME,
    env_vars::XDG_DATA_HOME,
];

/// Which service manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// systemd, as a user unit.
    Systemd,
    /// launchd, as a user agent.
    Launchd,
}

impl Manager {
    /// This platform's.
    pub fn native() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }
}

/// A service definition: where it goes, what it holds, and how to start and stop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Commands that start it.
    pub start: Vec<String>,
    /// Commands that stop it.
    pub stop: Vec<String>,
}

/// The service running `binary watch --quiet` with `environment`, for `manager`, in the
/// user's home `home` (systemd honours `config_home`, XDG_CONFIG_HOME, when set).
pub fn service(
    manager: Manager,
    binary: &Path,
    environment: &[(String, String)],
    home: &Path,
    config_home: Option<&Path>,
) -> Service {
    match manager {
        Manager::Systemd => {
            let dir = config_home
                .map(Path::to_path_buf)
                .unwrap_or_else(|| home.join(".config"))
                .join("systemd/user");
            let mut text = String::from(
                "# Written by `agent-cost watch --install-service`; removed by --uninstall-service.\n\
                 [Unit]\n\
                 Description=agent-cost watcher: AI spend tallies kept current as agents write\n\n\
                 [Service]\n",
            );
            text.push_str(&format!(
                "ExecStart={} watch --quiet\n",
                systemd_quote(&binary.display().to_string())
            ));
            for (key, value) in environment {
                text.push_str(&format!(
                    "Environment={}\n",
                    systemd_quote(&format!("{key}={value}"))
                ));
            }
            text.push_str(
                "Restart=on-failure\nRestartSec=5\n\n[Install]\nWantedBy=default.target\n",
            );
            Service {
                path: dir.join(SYSTEMD_UNIT),
                text,
                start: vec![
                    "systemctl --user daemon-reload".into(),
                    format!("systemctl --user enable --now {SYSTEMD_UNIT}"),
                ],
                stop: vec![format!("systemctl --user disable --now {SYSTEMD_UNIT}")],
            }
        }
        Manager::Launchd => {
            let path = home
                .join("Library/LaunchAgents")
                .join(format!("{LAUNCHD_LABEL}.plist"));
            let mut text = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
                 \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
                 <plist version=\"1.0\">\n<dict>\n",
            );
            text.push_str(&format!(
                "  <key>Label</key><string>{LAUNCHD_LABEL}</string>\n"
            ));
            text.push_str("  <key>ProgramArguments</key>\n  <array>\n");
            for argument in [&binary.display().to_string(), "watch", "--quiet"] {
                text.push_str(&format!("    <string>{}</string>\n", xml_escape(argument)));
            }
            text.push_str("  </array>\n");
            if !environment.is_empty() {
                text.push_str("  <key>EnvironmentVariables</key>\n  <dict>\n");
                for (key, value) in environment {
                    text.push_str(&format!(
                        "    <key>{}</key><string>{}</string>\n",
                        xml_escape(key),
                        xml_escape(value)
                    ));
                }
                text.push_str("  </dict>\n");
            }
            text.push_str(
                "  <key>RunAtLoad</key><true/>\n  <key>KeepAlive</key>\n  \
                 <dict><key>SuccessfulExit</key><false/></dict>\n</dict>\n</plist>\n",
            );
            let shown = path.display();
            Service {
                start: vec![format!("launchctl load -w {shown}")],
                stop: vec![format!("launchctl unload -w {shown}")],
                path,
                text,
            }
        }
    }
}

/// A systemd value in double quotes, with `%` (specifiers), `\` and `"` escaped.
fn systemd_quote(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%");
    format!("\"{escaped}\"")
}

fn xml_escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment() -> Vec<(String, String)> {
        vec![(
            "AGENT_COST_HOME".to_string(),
            "/home/u/50% \"state\"".to_string(),
        )]
    }

    #[test]
    fn a_systemd_user_unit_quotes_what_systemd_would_read_otherwise() {
        let unit = service(
            Manager::Systemd,
            Path::new("/home/u/.cargo/bin/agent-cost"),
            &environment(),
            Path::new("/home/u"),
            None,
        );
        assert_eq!(
            unit.path,
            PathBuf::from("/home/u/.config/systemd/user/agent-cost-watch.service")
        );
        assert!(
            unit.text
                .contains("ExecStart=\"/home/u/.cargo/bin/agent-cost\" watch --quiet\n")
        );
        assert!(
            unit.text
                .contains("Environment=\"AGENT_COST_HOME=/home/u/50%% \\\"state\\\"\"\n"),
            "{}",
            unit.text
        );
        assert!(unit.text.contains("WantedBy=default.target"));
        assert_eq!(
            unit.start[1],
            "systemctl --user enable --now agent-cost-watch.service"
        );
        let moved = service(
            Manager::Systemd,
            Path::new("/b"),
            &[],
            Path::new("/home/u"),
            Some(Path::new("/cfg")),
        );
        assert_eq!(
            moved.path,
            PathBuf::from("/cfg/systemd/user/agent-cost-watch.service")
        );
    }

    #[test]
    fn a_launchd_agent_escapes_its_xml() {
        let agent = service(
            Manager::Launchd,
            Path::new("/Users/u/bin/agent-cost"),
            &[("CODEX_HOME".to_string(), "/Users/u/a&b".to_string())],
            Path::new("/Users/u"),
            None,
        );
        assert_eq!(
            agent.path,
            PathBuf::from("/Users/u/Library/LaunchAgents/dev.agent-cost.watch.plist")
        );
        assert!(
            agent
                .text
                .contains("<string>/Users/u/bin/agent-cost</string>")
        );
        assert!(
            agent
                .text
                .contains("<key>CODEX_HOME</key><string>/Users/u/a&amp;b</string>")
        );
        assert!(agent.text.contains("<key>RunAtLoad</key><true/>"));
        assert_eq!(
            agent.start,
            vec!["launchctl load -w /Users/u/Library/LaunchAgents/dev.agent-cost.watch.plist"]
        );
    }
}
