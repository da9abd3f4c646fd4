//! The interactive front: raw mode, alternate screen, panic restore, the event loop.

use std::io::Stdout;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt as _;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::action::Action;
use crate::app::{App, FRAME};
use crate::config::theme::Theme;

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Whether the console owns the terminal (raw mode, alternate screen): nothing else may read
/// from it or write to it then (a credential plugin's login prompt must run before).
static OWNED: AtomicBool = AtomicBool::new(false);

pub fn is_owned() -> bool {
    OWNED.load(Ordering::Relaxed)
}

/// Restore the terminal: leave raw mode and the alternate screen, show the cursor.
pub fn restore() {
    OWNED.store(false, Ordering::Relaxed);
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Enter raw mode and the alternate screen; a panic restores the terminal before printing.
pub fn setup() -> std::io::Result<Term> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        hook(info);
    }));
    OWNED.store(true, Ordering::Relaxed);
    enable_raw_mode()?;
    execute!(std::io::stdout(), EnterAlternateScreen)?;
    // No `terminal.clear()`: it queries the cursor position, which some terminals (and
    // multiplexers over slow links) answer late; the fresh alternate screen is already blank.
    Terminal::new(CrosstermBackend::new(std::io::stdout()))
}

/// Run the console until the user quits. Input stays responsive whatever the network does:
/// cluster work happens in runtime tasks and arrives as actions.
pub async fn run(mut app: App, theme: &Theme) -> std::io::Result<()> {
    let mut terminal = setup()?;
    let result = event_loop(&mut app, &mut terminal, theme).await;
    restore();
    finish(&mut app).await;
    result
}

/// How long quitting waits for evidence captures and file saves still in flight.
pub const FINISH_BOUND: std::time::Duration = std::time::Duration::from_secs(10);

/// Let the work in flight finish (bounded), saying on the restored terminal what it waits for
/// and what it had to leave.
async fn finish(app: &mut App) {
    let running = app.unfinished();
    if !running.is_empty() {
        eprintln!(
            "ktui: finishing before exit (at most {}s): {}",
            FINISH_BOUND.as_secs(),
            crate::sanitize::line(&running.join("; "))
        );
    }
    let left = app.finish(FINISH_BOUND).await;
    if !left.is_empty() {
        eprintln!(
            "ktui: gave up after {}s on: {}",
            FINISH_BOUND.as_secs(),
            crate::sanitize::line(&left.join("; "))
        );
    }
}

/// Keys, the app's actions (its clock's ticks among them) and frames; only what changed is drawn.
async fn event_loop(app: &mut App, terminal: &mut Term, theme: &Theme) -> std::io::Result<()> {
    let mut events = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    if let Ok(size) = terminal.size() {
        app.dispatch(Action::Resize(size.width, size.height));
    }
    app.draw(terminal, theme)?;
    while !app.state.quit {
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    app.dispatch(Action::Key(key));
                }
                Some(Ok(Event::Resize(w, h))) => app.dispatch(Action::Resize(w, h)),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => break,
            },
            Some(action) = app.next_action() => {
                app.dispatch(action);
                app.drain();
            }
            _ = frame.tick() => {
                if app.dirty {
                    app.draw(terminal, theme)?;
                }
            }
        }
    }
    Ok(())
}
