//! Logging to the app: a [`LogSink`] the app implements (Logcat, `os_log`, a file) receives the SDK's
//! `tracing` events as [`LogRecord`]s, at or above the level it asked for.
//!
//! The core writes its log lines so that no token, code or key ever appears in them (secrets are
//! `SecretString`s that print `***`); this module forwards level, target and the formatted message and
//! fields, nothing else. Events are delivered on the thread that logged them (an SDK background thread).

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber, span};

/// How important a log line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something unexpected that the SDK worked around.
    Warn,
    /// Milestones (a refresh failed and the cache stays, a sync uploaded logs).
    Info,
    /// Details for debugging.
    Debug,
    /// Everything.
    Trace,
}

/// One log line.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Its level.
    pub level: LogLevel,
    /// The module that logged it, such as `latchkey::client`.
    pub target: String,
    /// The message followed by its fields (`key=value`).
    pub message: String,
}

/// Receives the SDK's log lines. Called on SDK background threads; must not block for long.
#[uniffi::export(foreign)]
pub trait LogSink: Send + Sync {
    /// One log line.
    fn log(&self, record: LogRecord);
}

struct Installed {
    sink: Arc<dyn LogSink>,
    max_level: LogLevel,
}

static SINK: RwLock<Option<Installed>> = RwLock::new(None);
static INSTALL: Once = Once::new();

thread_local! {
    /// Set while a sink runs, so a sink that calls back into the SDK cannot loop.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// Sends the SDK's log lines at `max_level` and above to `sink` (replacing any earlier sink); `None`
/// stops logging. If the process already installed another `tracing` subscriber, that one keeps the
/// lines and the sink gets none.
#[uniffi::export]
pub fn set_log_sink(sink: Option<Arc<dyn LogSink>>, max_level: LogLevel) {
    let mut slot = SINK.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    *slot = sink.map(|sink| Installed { sink, max_level });
    drop(slot);
    INSTALL.call_once(|| {
        // Fails only if the process set a global subscriber already; then that one gets the lines.
        let _ = tracing::subscriber::set_global_default(Forward { next_span: AtomicU64::new(1) });
    });
}

fn level_of(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        Level::TRACE => LogLevel::Trace,
    }
}

/// The level the installed sink asked for, if one is installed.
fn sink_level() -> Option<LogLevel> {
    SINK.read().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref().map(|installed| installed.max_level)
}

/// The subscriber forwarding events to the installed sink. It keeps no span data (the sink gets events
/// only), so it needs no registry: a smaller library than `tracing-subscriber` would make.
struct Forward {
    next_span: AtomicU64,
}

impl Subscriber for Forward {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // Asked again at each event: the sink and its level can change at any time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        sink_level().is_some_and(|max| level_of(metadata.level()) <= max)
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed).max(1))
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let level = level_of(event.metadata().level());
        let sink = {
            let slot = SINK.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            match slot.as_ref() {
                Some(installed) if level <= installed.max_level => installed.sink.clone(),
                _ => return,
            }
        };
        if IN_SINK.with(Cell::get) {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        let record =
            LogRecord { level, target: event.metadata().target().to_owned(), message: text.finish() };
        IN_SINK.with(|flag| flag.set(true));
        sink.log(record);
        IN_SINK.with(|flag| flag.set(false));
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// The message and the fields of one event, as text.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Text {
    fn finish(self) -> String {
        if self.fields.is_empty() { self.message } else { format!("{}{}", self.message, self.fields) }
    }
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}
