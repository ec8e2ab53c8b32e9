//! The reference engine server (`fabric_ai::engine::server::serve`) on an ephemeral loopback
//! port, for tests that need a well-behaved engine to talk to.

use fabric_ai::engine::server::{serve, ServerOptions};
use tokio::sync::oneshot;

/// A server on an ephemeral loopback port; stops when dropped.
pub struct ReferenceServer {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl ReferenceServer {
    /// Serves `options` until stopped or dropped.
    pub async fn start(options: ServerOptions) -> ReferenceServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, options, async {
            let _ = stopped.await;
        }));
        ReferenceServer {
            base,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server and waits until it has finished, failing the test if it failed.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        task.await.unwrap().unwrap();
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
