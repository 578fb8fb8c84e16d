//! agent-cost's entries among Claude Code's own hooks (`Stop`, `SubagentStop` in a
//! `settings.json`): added beside whatever the file holds, and removed again, without touching
//! any other key or hook. Each runs `<agent-cost> ingest --claude-hook`, which reads the one
//! transcript named on the hook's stdin.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// The Claude Code hook events agent-cost listens to.
pub const EVENTS: [&str; 2] = ["Stop", "SubagentStop"];

/// The argument that marks a command as ours.
pub const HOOK_ARGUMENT: &str = "ingest --claude-hook";

/// Why the settings could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not the JSON object Claude Code reads.
    #[error("{} is not a JSON object Claude Code can read ({reason}); fix or move it first", path.display())]
    NotSettings {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// What a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The hook events whose entries were added (or removed).
    pub events: Vec<&'static str>,
    /// The command the entries run.
    pub command: String,
}

/// The command a hook entry runs: `binary` quoted for a shell when it needs to be.
pub fn hook_command(binary: &Path) -> String {
    let path = binary.display().to_string();
    let quoted = if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        path
    } else {
        format!("'{}'", path.replace('\'', r"'\''"))
    };
    format!("{quoted} {HOOK_ARGUMENT}")
}

fn is_ours(hook: &Value) -> bool {
    hook.get("command")
        .and_then(Value::as_str)
        .is_some_and(|c| c.ends_with(HOOK_ARGUMENT) && c.contains("agent-cost"))
}

fn read(path: &Path) -> Result<Map<String, Value>, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(source) => {
            return Err(SettingsError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SettingsError::NotSettings {
            path: path.to_path_buf(),
            reason: "not an object".into(),
        }),
        Err(e) => Err(SettingsError::NotSettings {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

fn write(path: &Path, settings: &Map<String, Value>) -> Result<(), SettingsError> {
    let io = |source| SettingsError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut text = serde_json::to_string_pretty(settings).map_err(|e| io(e.into()))?;
    text.push('\n');
    let temporary = path.with_extension("json.agent-cost-tmp");
    std::fs::write(&temporary, text).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// Adds agent-cost's `Stop` and `SubagentStop` entries to the settings at `path` (created if
/// missing), keeping every other key and hook. Events that already have ours are left alone.
pub fn install(path: &Path, binary: &Path) -> Result<Change, SettingsError> {
    let mut settings = read(path)?;
    let command = hook_command(binary);
    let hooks = settings
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(hooks) = hooks else {
        return Err(SettingsError::NotSettings {
            path: path.to_path_buf(),
            reason: "its \"hooks\" is not an object".into(),
        });
    };
    let mut added = Vec::new();
    for event in EVENTS {
        let groups = hooks
            .entry(event)
            .or_insert_with(|| Value::Array(Vec::new()));
        let Value::Array(groups) = groups else {
            return Err(SettingsError::NotSettings {
                path: path.to_path_buf(),
                reason: format!("its \"hooks\".\"{event}\" is not a list"),
            });
        };
        let present = groups.iter().any(|group| {
            group
                .get("hooks")
                .and_then(Value::as_array)
                .is_some_and(|list| list.iter().any(is_ours))
        });
        if !present {
            groups.push(json!({"hooks": [{"type": "command", "command": command}]}));
            added.push(event);
        }
    }
    if !added.is_empty() {
        write(path, &settings)?;
    }
    Ok(Change {
        events: added,
        command,
    })
}

/// Removes agent-cost's entries from the settings at `path`, and the groups and lists that
/// held only them; everything else stays as it was.
pub fn uninstall(path: &Path) -> Result<Change, SettingsError> {
    if !path.exists() {
        return Ok(Change {
            events: Vec::new(),
            command: String::new(),
        });
    }
    let mut settings = read(path)?;
    let mut removed = Vec::new();
    let mut command = String::new();
    if let Some(Value::Object(hooks)) = settings.get_mut("hooks") {
        for event in EVENTS {
            let Some(Value::Array(groups)) = hooks.get_mut(event) else {
                continue;
            };
            let before = groups.len();
            let mut touched = false;
            for group in groups.iter_mut() {
                if let Some(Value::Array(list)) = group.get_mut("hooks") {
                    if let Some(ours) = list.iter().find(|h| is_ours(h)) {
                        command = ours["command"].as_str().unwrap_or_default().to_string();
                    }
                    let had = list.len();
                    list.retain(|h| !is_ours(h));
                    touched |= list.len() != had;
                }
            }
            groups.retain(|group| {
                group
                    .get("hooks")
                    .and_then(Value::as_array)
                    .is_none_or(|list| !list.is_empty())
            });
            if touched || groups.len() != before {
                removed.push(event);
            }
            if groups.is_empty() {
                hooks.remove(event);
            }
        }
        if hooks.is_empty() {
            settings.remove("hooks");
        }
    }
    if !removed.is_empty() {
        write(path, &settings)?;
    }
    Ok(Change {
        events: removed,
        command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXISTING: &str = r#"{
  "model": "opus",
  "permissions": {"allow": ["Bash(git status)"]},
  "hooks": {
    "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "guard"}]}]
  }
}"#;

    #[test]
    fn install_keeps_every_other_key_and_hook_and_uninstall_gives_the_file_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, EXISTING).unwrap();
        let binary = Path::new("/opt/my tools/agent-cost");
        let change = install(&path, binary).unwrap();
        assert_eq!(change.events, vec!["Stop", "SubagentStop"]);
        assert_eq!(
            change.command,
            "'/opt/my tools/agent-cost' ingest --claude-hook"
        );
        let after: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(after["model"], "opus");
        assert_eq!(after["permissions"]["allow"][0], "Bash(git status)");
        assert_eq!(
            after["hooks"]["PreToolUse"][0]["hooks"][0]["command"],
            "guard"
        );
        let stop = after["hooks"]["Stop"].as_array().unwrap();
        assert_eq!(stop.len(), 2);
        assert_eq!(stop[0]["hooks"][0]["command"], "notify-send done");
        assert_eq!(stop[1]["hooks"][0]["command"], change.command);
        assert_eq!(
            after["hooks"]["SubagentStop"][0]["hooks"][0]["command"],
            change.command
        );
        // The keys keep their order.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.find("\"model\"").unwrap() < text.find("\"permissions\"").unwrap());

        // Twice adds nothing.
        assert!(install(&path, binary).unwrap().events.is_empty());

        let removed = uninstall(&path).unwrap();
        assert_eq!(removed.events, vec!["Stop", "SubagentStop"]);
        let back: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let original: Value = serde_json::from_str(EXISTING).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn a_missing_file_is_created_and_a_broken_one_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".claude/settings.json");
        install(&path, Path::new("/usr/bin/agent-cost")).unwrap();
        let made: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            made["hooks"]["Stop"][0]["hooks"][0]["command"],
            "/usr/bin/agent-cost ingest --claude-hook"
        );
        uninstall(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), "{}");

        std::fs::write(&path, "{\"hooks\": [").unwrap();
        let error = install(&path, Path::new("/usr/bin/agent-cost")).unwrap_err();
        assert!(
            error.to_string().contains("is not a JSON object"),
            "{error}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"hooks\": [");
    }
}
