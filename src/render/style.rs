//! The colour decision, made once, and the semantic styles built on it.

use crate::intercom::{family, signature::Verdict, Family};
use colored::{ColoredString, Colorize};

/// Semantic styles; every method returns plain text when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// A style that colours (or not).
    pub fn new(color: bool) -> Style {
        // `colored` consults its own global switch; keep it in step with our decision.
        colored::control::set_override(color);
        Style { color }
    }

    /// Whether colour is on.
    pub fn color(self) -> bool {
        self.color
    }

    /// Secondary text: times, sizes, hints.
    pub fn dim(self, s: &str) -> ColoredString {
        s.dimmed()
    }

    /// Emphasis.
    pub fn bold(self, s: &str) -> ColoredString {
        s.bold()
    }

    /// A success marker.
    pub fn good(self, s: &str) -> ColoredString {
        s.green()
    }

    /// A warning.
    pub fn warn(self, s: &str) -> ColoredString {
        s.yellow()
    }

    /// A failure.
    pub fn bad(self, s: &str) -> ColoredString {
        s.red().bold()
    }

    /// A capture id.
    pub fn id(self, s: &str) -> ColoredString {
        // Escaped too: a store written before imports checked ids may hold any text.
        super::escape::line(s).cyan()
    }

    /// A topic, coloured by its family so related notifications look alike.
    pub fn topic(self, topic: &str, escaped: &str) -> ColoredString {
        match family(topic) {
            Family::Conversation => escaped.blue().bold(),
            Family::Contact => escaped.magenta().bold(),
            Family::Ticket => escaped.yellow().bold(),
            Family::Company => escaped.cyan().bold(),
            Family::Admin => escaped.bright_blue().bold(),
            Family::Content => escaped.bright_magenta().bold(),
            Family::Ping => escaped.green().bold(),
            Family::Other => escaped.white().bold(),
        }
    }

    /// The signature mark: ✓ valid, ✗ invalid or missing, – unchecked.
    pub fn verdict(self, v: Verdict) -> ColoredString {
        let label = verdict_label(v);
        match v {
            Verdict::Valid => label.green(),
            Verdict::Invalid(_) | Verdict::Missing => label.red().bold(),
            Verdict::Unchecked => label.dimmed(),
        }
    }

    /// JSON object keys.
    pub fn json_key(self, s: &str) -> ColoredString {
        s.blue()
    }

    /// JSON strings.
    pub fn json_string(self, s: &str) -> ColoredString {
        s.green()
    }

    /// JSON numbers.
    pub fn json_number(self, s: &str) -> ColoredString {
        s.cyan()
    }

    /// JSON true, false and null.
    pub fn json_literal(self, s: &str) -> ColoredString {
        s.yellow()
    }
}

/// The signature verdict as `verdict` shows it, uncoloured (for aligning columns).
pub fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "✓ sig",
        Verdict::Invalid(_) => "✗ sig",
        Verdict::Missing => "✗ unsigned",
        Verdict::Unchecked => "– sig",
    }
}
