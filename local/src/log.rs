//! Where the local stack's output goes: the gateway's own lines and the functions' stdout/stderr,
//! prefixed with the function name. Tests capture it; `chat-dev` prints it.

use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Clone)]
pub enum LogSink {
    /// Print to the terminal.
    Print,
    /// Keep the lines (tests read them); also print them when `CHAT_DEV_VERBOSE` is set.
    Capture(Arc<Mutex<Vec<String>>>),
}

impl LogSink {
    pub fn capture() -> LogSink {
        LogSink::Capture(Arc::new(Mutex::new(Vec::new())))
    }

    pub fn lines(&self) -> Vec<String> {
        match self {
            LogSink::Print => Vec::new(),
            LogSink::Capture(l) => l.lock().unwrap().clone(),
        }
    }

    fn emit(&self, line: String, to_stderr: bool) {
        match self {
            LogSink::Print => {
                if to_stderr {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            }
            LogSink::Capture(lines) => {
                if std::env::var_os("CHAT_DEV_VERBOSE").is_some() {
                    eprintln!("{line}");
                }
                lines.lock().unwrap().push(line);
            }
        }
    }

    /// A line a function wrote.
    pub fn function(&self, function: &str, stream: Stream, line: &str) {
        self.emit(format!("[{function}] {line}"), stream == Stream::Stderr);
    }

    /// A line of the gateway's own.
    pub fn gateway(&self, line: &str) {
        self.emit(format!("[gateway] {line}"), false);
    }
}
