//! Progress on stderr for work that takes a while: a bar over the boards of
//! `--all-boards`, a spinner while one large board is migrated or audited.
//!
//! Drawn only where someone can watch it: stderr is a terminal and `TERM` is not `dumb`.
//! It stays hidden for the first second, so quick runs print nothing, and it is cleared
//! when the work ends, so what remains on the terminal is the report and the warnings.
//! indicatif draws it (rate-limited, and out of the way of lines printed meanwhile).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long work runs before progress is shown.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A progress indicator, or nothing where none can be watched.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// Whether progress can be watched: stderr is a terminal that redraws.
    pub fn wanted() -> bool {
        std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
    }

    /// A bar over `len` items (boards), labelled `what`.
    pub fn bar(len: u64, what: &str) -> Progress {
        Self::start(Some(len), what, Self::wanted())
    }

    /// A spinner for one piece of work without a known length.
    pub fn spinner(what: &str) -> Progress {
        Self::start(None, what, Self::wanted())
    }

    fn start(len: Option<u64>, what: &str, wanted: bool) -> Progress {
        if !wanted {
            return Progress(None);
        }
        let pb = ProgressBar::with_draw_target(len, ProgressDrawTarget::hidden());
        let style = match len {
            Some(_) => ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
                .map(|s| s.progress_chars("=> ")),
            None => ProgressStyle::with_template("{spinner} {msg} ({elapsed})"),
        };
        if let Ok(style) = style {
            pb.set_style(style);
        }
        pb.set_message(crate::escape::line(what).into_owned());
        let later = pb.clone();
        // Shown only if the work is still going after a second.
        std::thread::spawn(move || {
            std::thread::sleep(SHOW_AFTER);
            if !later.is_finished() {
                later.set_draw_target(ProgressDrawTarget::stderr());
                later.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress(Some(pb))
    }

    /// One more item done.
    pub fn inc(&self) {
        if let Some(pb) = &self.0 {
            pb.inc(1);
        }
    }

    /// Say what is being worked on now.
    pub fn message(&self, what: &str) {
        if let Some(pb) = &self.0 {
            pb.set_message(crate::escape::line(what).into_owned());
        }
    }

    /// The work is over: clear the indicator.
    pub fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_drawn_where_nobody_watches() {
        let p = Progress::start(Some(3), "boards", false);
        assert!(p.0.is_none());
        p.inc();
        p.message("x");
        p.finish();
    }

    #[test]
    fn a_bar_counts_and_stays_hidden_for_the_first_second() {
        let p = Progress::start(Some(3), "checking", true);
        let pb = p.0.as_ref().unwrap();
        assert!(pb.is_hidden());
        p.inc();
        p.inc();
        assert_eq!(pb.position(), 2);
        assert_eq!(pb.length(), Some(3));
        p.finish();
        assert!(pb.is_finished());
    }
}
