//! The threads that serve connections: one single-threaded runtime per worker, each owning the
//! connections handed to it for their whole life.
//!
//! Why not tokio's work-stealing runtime: every request is short, CPU-bound work between two
//! socket operations, so stealing buys nothing, while waking an idle worker to look for work
//! costs a cross-core interrupt per request. Measured on 2 cores (BENCHMARKS.md), pinning each
//! connection to one thread served 18–24 % more requests per second. Connections are dealt
//! round-robin so that the long-lived connections of a busy client spread evenly, which sharing
//! the listening socket between threads (whoever wakes first accepts) does not guarantee.

use std::io;
use std::thread::JoinHandle;
use tokio::net::TcpStream;
use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// One worker thread and how to reach and stop it.
struct Worker {
    handle: Handle,
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

/// A fixed set of worker threads, dealt connections in turn.
pub struct Workers {
    workers: Vec<Worker>,
    next: usize,
}

impl Workers {
    /// Starts `count` threads (at least one), each running its own runtime until [`Self::stop`].
    pub fn start(count: usize) -> io::Result<Self> {
        let workers = (0..count.max(1))
            .map(|i| {
                let runtime = Builder::new_current_thread()
                    .enable_io()
                    .enable_time()
                    .build()?;
                let handle = runtime.handle().clone();
                let (stop, stopped) = oneshot::channel::<()>();
                let thread = std::thread::Builder::new()
                    .name(format!("tessera-w{i}"))
                    .spawn(move || {
                        // A dropped sender also ends the thread: the pool is gone either way.
                        let _ = runtime.block_on(stopped);
                    })?;
                Ok(Worker {
                    handle,
                    stop,
                    thread,
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Self { workers, next: 0 })
    }

    /// Moves an accepted connection onto the next worker's runtime and runs `serve` there.
    ///
    /// The socket is re-registered with that worker's reactor, so its reads, writes and timers
    /// never involve another thread.
    pub fn dispatch<F, Fut>(&mut self, stream: TcpStream, serve: F) -> io::Result<()>
    where
        F: FnOnce(TcpStream) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(worker) = self.workers.get(self.next % self.workers.len()) else {
            return Err(io::Error::other("the worker pool is empty"));
        };
        self.next = self.next.wrapping_add(1);
        let socket = stream.into_std()?;
        let _entered = worker.handle.enter();
        let stream = TcpStream::from_std(socket)?;
        worker.handle.spawn(serve(stream));
        Ok(())
    }

    /// Stops every worker and waits for its thread. Connections still open on a worker are
    /// dropped with its runtime, so drain them first.
    pub fn stop(self) {
        for worker in self.workers {
            let _ = worker.stop.send(());
            if worker.thread.join().is_err() {
                tracing::error!("a worker thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Connections are dealt in turn, and each is served on its worker's thread.
    #[tokio::test]
    async fn connections_go_round_robin_to_worker_threads() {
        let mut workers = Workers::start(2).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut names = Vec::new();
        for _ in 0..4 {
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (accepted, _) = listener.accept().await.unwrap();
            workers
                .dispatch(accepted, |mut stream| async move {
                    let name = std::thread::current().name().unwrap_or("").to_owned();
                    stream.write_all(name.as_bytes()).await.unwrap();
                })
                .unwrap();
            let mut name = String::new();
            client.read_to_string(&mut name).await.unwrap();
            names.push(name);
        }
        assert_eq!(
            names,
            ["tessera-w0", "tessera-w1", "tessera-w0", "tessera-w1"]
        );
        workers.stop();
    }
}
