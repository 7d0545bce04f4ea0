//! Where Airbyte messages go: one per line, each batch written whole and
//! flushed (a component batches records and ends a batch at any other
//! message, so every batch ends at a point a runner may act on).

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

const BUFFER_BYTES: usize = 64 * 1024;

/// Writes messages to the runner, usually the process's stdout.
///
/// [`share`](Self::share) makes another handle to the same output, for
/// component instances running at once: each batch is written whole, with
/// its last newline, under one lock, so lines are never split or interleaved.
pub struct MessageWriter {
    inner: Arc<Mutex<Inner>>,
    /// [`OPEN`], then [`ENDED`] by the run or [`STOPPING`] by a signal,
    /// whichever comes first.
    phase: Arc<AtomicU8>,
}

const OPEN: u8 = 0;
/// The run is over: a signal from now on changes nothing.
const ENDED: u8 = 1;
/// A signal came first: no batch starts, the signal's line ends the output.
const STOPPING: u8 = 2;

struct Inner {
    out: BufWriter<Box<dyn Write + Send>>,
    /// Set by the first failed write or flush: from then on every handle
    /// fails at once, so instances running at once all stop.
    failed: Option<io::ErrorKind>,
}

impl MessageWriter {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                out: BufWriter::with_capacity(BUFFER_BYTES, out),
                failed: None,
            })),
            phase: Arc::new(AtomicU8::new(OPEN)),
        }
    }

    /// The process's stdout. (Stdout's own line buffering sees our large
    /// writes, which end at a newline, and passes them straight through.)
    pub fn stdout() -> Self {
        Self::new(Box::new(io::stdout()))
    }

    /// Another handle to the same output (same buffer, same lock).
    pub fn share(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            phase: Arc::clone(&self.phase),
        }
    }

    /// Ends the output for good with `line` (a signal's TRACE ERROR): no
    /// batch starts after this call, the one being written may finish, so
    /// every line is whole, for at most `grace` (a reader that takes
    /// nothing cannot hold the host), then `line` is written and flushed.
    /// Returns false, having done nothing, if the run had ended first.
    pub fn close_with(&self, line: &str, grace: Duration) -> bool {
        if !self.enter(STOPPING) {
            return false;
        }
        let deadline = Instant::now() + grace;
        let mut inner = loop {
            match self.inner.try_lock() {
                Ok(inner) => break inner,
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return true,
            }
        };
        if inner.failed.is_none() {
            // Nowhere to report a failure: the process is about to exit.
            let _ = inner
                .out
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|()| inner.out.flush());
            inner.failed = Some(io::ErrorKind::Interrupted);
        }
        true
    }

    /// Marks the run's output complete, once its last batch is written.
    /// Returns false if a signal came first: that signal's handler ends
    /// the output (and the process) instead.
    pub fn end(&self) -> bool {
        self.enter(ENDED)
    }

    fn enter(&self, phase: u8) -> bool {
        self.phase
            .compare_exchange(OPEN, phase, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    fn stopping(&self) -> bool {
        self.phase.load(Ordering::SeqCst) == STOPPING
    }

    /// Writes lines (one message, or a component's batch), adding the last
    /// newline if it is missing, and flushes them.
    pub fn emit(&mut self, lines: &str) -> io::Result<()> {
        self.with_output(|out| {
            out.write_all(lines.as_bytes())?;
            if !lines.ends_with('\n') {
                out.write_all(b"\n")?;
            }
            out.flush()
        })
    }

    /// Flushes what is buffered; call at the end of a run.
    pub fn flush(&mut self) -> io::Result<()> {
        self.with_output(Write::flush)
    }

    /// Whether a write or flush has failed (through any handle).
    pub fn is_closed(&self) -> bool {
        self.stopping() || self.lock().is_ok_and(|inner| inner.failed.is_some())
    }

    fn with_output(
        &self,
        write: impl FnOnce(&mut BufWriter<Box<dyn Write + Send>>) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut inner = self.lock()?;
        if self.stopping() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "the output is closed: the host is stopping",
            ));
        }
        if let Some(kind) = inner.failed {
            return Err(io::Error::new(
                kind,
                "an earlier write to the output failed",
            ));
        }
        let result = write(&mut inner.out);
        if let Err(error) = &result {
            inner.failed = Some(error.kind());
        }
        result
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, Inner>> {
        // A panic while holding the lock may have left half a line.
        self.inner
            .lock()
            .map_err(|_| io::Error::other("the output is unusable after a panic"))
    }
}

/// A writer for tests that records what reached it (i.e. what was flushed).
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Recorder(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl Recorder {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }

    pub(crate) fn writer(&self) -> MessageWriter {
        MessageWriter::new(Box::new(self.clone()))
    }

    /// What reached it, one JSON message per line.
    pub(crate) fn messages(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn each_batch_reaches_the_output_at_once_with_its_last_newline() {
        let recorder = Recorder::default();
        let mut writer = MessageWriter::new(Box::new(recorder.clone()));
        let batch = "{\"type\":\"RECORD\",\"record\":{}}\n{\"type\":\"STATE\",\"state\":{}}\n";
        writer.emit(batch).expect("emit");
        assert_eq!(recorder.text(), batch);
        writer.emit(r#"{"type":"LOG","log":{}}"#).expect("emit");
        assert_eq!(
            recorder.text(),
            format!("{batch}{{\"type\":\"LOG\",\"log\":{{}}}}\n")
        );
    }

    #[test]
    fn shared_handles_write_whole_lines_in_each_ones_order() {
        let recorder = Recorder::default();
        let writer = MessageWriter::new(Box::new(recorder.clone()));
        std::thread::scope(|scope| {
            for t in 0..4 {
                let mut handle = writer.share();
                scope.spawn(move || {
                    for i in 0..500 {
                        let kind = if i % 50 == 49 { "STATE" } else { "RECORD" };
                        let line = format!(
                            r#"{{"type":"{kind}","t":{t},"i":{i},"pad":"{}"}}"#,
                            "x".repeat(i)
                        );
                        handle.emit(&line).expect("emit");
                    }
                });
            }
        });
        writer.share().flush().expect("flush");
        let text = recorder.text();
        let mut next = [0; 4];
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).expect("a whole line");
            let t = value["t"].as_u64().expect("t") as usize;
            assert_eq!(
                value["i"].as_u64(),
                Some(next[t]),
                "thread {t} out of order"
            );
            next[t] += 1;
        }
        assert_eq!(next, [500; 4]);
    }

    #[test]
    fn a_failed_write_closes_every_handle() {
        let mut writer = MessageWriter::new(Box::new(Broken));
        let mut other = writer.share();
        assert!(!other.is_closed());
        assert!(writer.emit(r#"{"type":"TRACE"}"#).is_err());
        assert!(other.is_closed());
        let error = other.emit(r#"{"type":"RECORD"}"#).expect_err("closed");
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn closing_writes_the_last_line_after_the_batch_in_progress_and_nothing_later() {
        let recorder = Recorder::default();
        let mut writer = recorder.writer();
        let closer = writer.share();
        let batch = "{\"type\":\"RECORD\",\"record\":{}}\n".repeat(1000);
        let mut held = writer.lock().expect("lock");
        let closing = std::thread::spawn(move || {
            closer.close_with(r#"{"type":"TRACE"}"#, Duration::from_secs(5))
        });
        // A batch under way when the signal came ends whole, then the line.
        std::thread::sleep(Duration::from_millis(20));
        held.out.write_all(batch.as_bytes()).expect("write");
        held.out.flush().expect("flush");
        drop(held);
        assert!(closing.join().expect("join"));
        assert!(writer.emit(&batch).is_err(), "no batch after the close");
        assert_eq!(recorder.text(), format!("{batch}{{\"type\":\"TRACE\"}}\n"));
    }

    #[test]
    fn a_signal_after_the_end_changes_nothing() {
        let recorder = Recorder::default();
        let mut writer = recorder.writer();
        writer.emit(r#"{"type":"STATE"}"#).expect("emit");
        assert!(writer.end());
        assert!(!writer
            .share()
            .close_with(r#"{"type":"TRACE"}"#, Duration::from_secs(1)));
        assert_eq!(recorder.text(), "{\"type\":\"STATE\"}\n");
        let stopped = Recorder::default().writer();
        assert!(stopped.share().close_with("{}", Duration::from_secs(1)));
        assert!(!stopped.end(), "the signal came first");
    }

    #[test]
    fn closing_gives_up_on_a_batch_that_never_ends() {
        let recorder = Recorder::default();
        let writer = recorder.writer();
        let _stuck = writer.lock().expect("lock");
        let started = Instant::now();
        assert!(writer
            .share()
            .close_with(r#"{"type":"TRACE"}"#, Duration::from_millis(50)));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(recorder.text(), "");
    }

    #[test]
    fn broken_pipe_is_an_error_not_a_panic() {
        let mut writer = MessageWriter::new(Box::new(Broken));
        assert!(writer.emit(r#"{"type":"TRACE"}"#).is_err());
    }
}
