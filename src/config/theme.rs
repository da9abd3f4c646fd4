//! Colour themes: bundled TOML files embedded in the binary, overridden key by key by a user file.
//!
//! `--theme NAME` picks a bundled theme; `--theme PATH` reads a TOML file whose keys override the
//! theme named by its optional `base` key (default: `default`). `NO_COLOR` drops every colour and
//! keeps only modifiers (bold, reversed), so selection and states stay visible.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};

/// Bundled themes: (name, TOML).
pub const BUNDLED: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThemeError {
    #[error(
        "unknown theme '{0}': use one of default, light, high-contrast, or a path to a .toml file"
    )]
    Unknown(String),
    #[error("cannot read theme file {path}: {error}")]
    Read { path: String, error: String },
    #[error("theme {source_name}: {error}")]
    Parse { source_name: String, error: String },
    #[error(
        "theme {source_name}: key '{key}' has colour \"{value}\", expected a colour name (red, lightblue, ...) or \"#rrggbb\""
    )]
    BadColor {
        source_name: String,
        key: String,
        value: String,
    },
    #[error("theme {source_name}: unknown key '{key}' (known keys: {known})")]
    UnknownKey {
        source_name: String,
        key: String,
        known: String,
    },
}

/// Resolved styles used by the views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub base: Style,
    pub border: Style,
    pub title: Style,
    pub header: Style,
    pub selected: Style,
    pub crashed: Style,
    pub not_started: Style,
    pub evicted: Style,
    pub ok: Style,
    pub muted: Style,
    pub accent: Style,
    pub error: Style,
    pub info: Style,
    pub demo: Style,
    pub search_match: Style,
    pub placeholder: Style,
}

const KEYS: &[&str] = &[
    "fg",
    "bg",
    "border",
    "title",
    "header",
    "selected_fg",
    "selected_bg",
    "crashed",
    "not_started",
    "evicted",
    "ok",
    "muted",
    "accent",
    "error",
    "info",
    "demo",
    "search_match",
    "search_match_bg",
    "placeholder",
];

fn parse_color(s: &str) -> Option<Color> {
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    Some(match s.to_ascii_lowercase().as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "darkgray" | "darkgrey" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

/// Parse one TOML theme source into key → colour, checking keys and values.
fn parse_source(
    source_name: &str,
    text: &str,
) -> Result<(Option<String>, BTreeMap<String, Color>), ThemeError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ThemeError::Parse {
        source_name: source_name.to_string(),
        error: e.to_string(),
    })?;
    let mut base = None;
    let mut colors = BTreeMap::new();
    for (key, value) in table {
        let Some(value) = value.as_str() else {
            return Err(ThemeError::Parse {
                source_name: source_name.to_string(),
                error: format!("key '{key}' must be a string"),
            });
        };
        if key == "base" {
            base = Some(value.to_string());
            continue;
        }
        if !KEYS.contains(&key.as_str()) {
            return Err(ThemeError::UnknownKey {
                source_name: source_name.to_string(),
                key,
                known: KEYS.join(", "),
            });
        }
        let color = parse_color(value).ok_or_else(|| ThemeError::BadColor {
            source_name: source_name.to_string(),
            key: key.clone(),
            value: value.to_string(),
        })?;
        colors.insert(key, color);
    }
    Ok((base, colors))
}

fn bundled(name: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

impl Theme {
    /// Resolve `--theme` (None = default) and `NO_COLOR`.
    pub fn load(spec: Option<&str>, no_color: bool) -> Result<Theme, ThemeError> {
        let spec = spec.unwrap_or("default");
        let colors = if let Some(text) = bundled(spec) {
            parse_source(spec, text)?.1
        } else if spec.ends_with(".toml")
            || spec.contains('/')
            || std::path::Path::new(spec).is_file()
        {
            let text = std::fs::read_to_string(spec).map_err(|e| ThemeError::Read {
                path: spec.to_string(),
                error: e.to_string(),
            })?;
            let (base, overrides) = parse_source(spec, &text)?;
            let base = base.unwrap_or_else(|| "default".to_string());
            let base_text = bundled(&base).ok_or_else(|| ThemeError::Unknown(base.clone()))?;
            let mut colors = parse_source(&base, base_text)?.1;
            colors.extend(overrides);
            colors
        } else {
            return Err(ThemeError::Unknown(spec.to_string()));
        };
        Ok(Theme::from_colors(&colors, no_color))
    }

    fn from_colors(colors: &BTreeMap<String, Color>, no_color: bool) -> Theme {
        let c = |key: &str| {
            if no_color {
                Color::Reset
            } else {
                colors.get(key).copied().unwrap_or(Color::Reset)
            }
        };
        let fg = |key: &str| Style::default().fg(c(key));
        let bold = Modifier::BOLD;
        Theme {
            base: Style::default().fg(c("fg")).bg(c("bg")),
            border: fg("border"),
            title: fg("title").add_modifier(bold),
            header: fg("header").add_modifier(bold),
            selected: Style::default()
                .fg(c("selected_fg"))
                .bg(c("selected_bg"))
                .add_modifier(if no_color { Modifier::REVERSED } else { bold }),
            crashed: fg("crashed").add_modifier(bold),
            // Distinct without colour too (NO_COLOR): crashes bold, never-started italic,
            // evictions dim.
            not_started: fg("not_started").add_modifier(Modifier::ITALIC),
            evicted: fg("evicted").add_modifier(Modifier::DIM),
            ok: fg("ok"),
            muted: fg("muted"),
            accent: fg("accent"),
            error: fg("error").add_modifier(bold),
            info: fg("info"),
            demo: fg("demo").add_modifier(bold | Modifier::REVERSED),
            search_match: Style::default()
                .fg(c("search_match"))
                .bg(c("search_match_bg"))
                .add_modifier(if no_color {
                    Modifier::REVERSED | Modifier::UNDERLINED
                } else {
                    bold
                }),
            placeholder: fg("placeholder").add_modifier(Modifier::DIM),
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        let colors = bundled("default")
            .and_then(|t| parse_source("default", t).ok())
            .map(|(_, c)| c)
            .unwrap_or_default();
        Theme::from_colors(&colors, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_theme_parses_with_every_key() {
        for (name, text) in BUNDLED {
            let (_, colors) = parse_source(name, text).unwrap();
            for key in KEYS {
                assert!(colors.contains_key(*key), "{name} lacks {key}");
            }
            Theme::load(Some(name), false).unwrap();
        }
    }

    #[test]
    fn user_file_overrides_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, "base = \"light\"\ncrashed = \"#010203\"\n").unwrap();
        let t = Theme::load(path.to_str(), false).unwrap();
        assert_eq!(t.crashed.fg, Some(Color::Rgb(1, 2, 3)));
        let light = Theme::load(Some("light"), false).unwrap();
        assert_eq!(t.ok, light.ok);
    }

    #[test]
    fn errors_quote_the_offending_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "crashed = \"reddish\"\n").unwrap();
        let e = Theme::load(path.to_str(), false).unwrap_err().to_string();
        assert!(e.contains("\"reddish\""), "{e}");
        std::fs::write(&path, "crashd = \"red\"\n").unwrap();
        let e = Theme::load(path.to_str(), false).unwrap_err().to_string();
        assert!(e.contains("'crashd'"), "{e}");
        assert!(Theme::load(Some("nope"), false).is_err());
    }

    #[test]
    fn no_color_keeps_only_modifiers() {
        let t = Theme::load(None, true).unwrap();
        assert_eq!(t.crashed.fg, Some(Color::Reset));
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        // The three categories stay apart without colour.
        let mods = [t.crashed, t.not_started, t.evicted].map(|s| s.add_modifier);
        assert!(mods[0] != mods[1] && mods[1] != mods[2] && mods[0] != mods[2]);
    }
}
