//! The scan's progress bar on stderr: shown when stderr is a terminal, or always with
//! `--progress` (e.g. when stderr goes to a log).

use std::io::{self, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

/// A bar for `len` keys (a spinner if unknown); drawn on a terminal, or always if `forced`.
pub(crate) fn bar(len: Option<u64>, forced: bool) -> ProgressBar {
    let target = if forced {
        ProgressDrawTarget::term_like(Box::new(Stderr))
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(len, target);
    let template = if len.is_some() {
        "{spinner} scanned {pos}/~{len} keys ({per_sec}) {wide_bar}"
    } else {
        "{spinner} scanned {pos} keys ({per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Ends the bar: cleared from a terminal, left as a last line when forced.
pub(crate) fn done(bar: &ProgressBar, forced: bool) {
    if forced {
        // Leaves the last state drawn (`finish` would show the estimate as reached).
        bar.abandon();
    } else {
        bar.finish_and_clear();
    }
}

/// stderr as a terminal, whatever it is connected to.
#[derive(Debug)]
struct Stderr;

impl Stderr {
    fn write(&self, s: &str) -> io::Result<()> {
        io::stderr().lock().write_all(s.as_bytes())
    }
}

impl TermLike for Stderr {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.write(&format!("\x1b[{n}A"))
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.write(&format!("\x1b[{n}B"))
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.write(&format!("\x1b[{n}C"))
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.write(&format!("\x1b[{n}D"))
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.write(&format!("{s}\n"))
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.write(s)
    }
    fn clear_line(&self) -> io::Result<()> {
        self.write("\r\x1b[2K")
    }
    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
    }
}
