//! Tools for the hardening tests (faults, hostile input, concurrency, secrets): raw TCP
//! servers that misbehave on 127.0.0.1, a switchable front for the fake, and a way to start
//! many helpers at once.
#![allow(dead_code)]

pub use crate::common::collect;
use crate::common::{Helper, Out};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A port on 127.0.0.1 where nothing listens (bound, then closed): connections are refused.
pub fn closed_port_uri() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// What a [`RawServer`] does with each connection.
#[derive(Clone, Copy, Debug)]
pub enum Misbehaviour {
    /// Accepts, reads the request, never answers (keeps the socket open).
    Silent,
    /// Answers a valid-looking HTTP response one byte every `every`, forever.
    Trickle { every: Duration },
}

/// A tiny TCP server on 127.0.0.1 that misbehaves; stops when dropped.
pub struct RawServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
    /// Bytes written to clients so far.
    pub bytes_sent: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    /// Starts a server with that behaviour.
    pub fn start(how: Misbehaviour) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let bytes_sent = Arc::new(AtomicUsize::new(0));
        let (s, c, b) = (stop.clone(), connections.clone(), bytes_sent.clone());
        let thread = std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        c.fetch_add(1, Ordering::SeqCst);
                        let (s, b) = (s.clone(), b.clone());
                        workers.push(std::thread::spawn(move || serve(stream, how, &s, &b)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        RawServer {
            addr,
            stop,
            connections,
            bytes_sent,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, how: Misbehaviour, stop: &AtomicBool, sent: &AtomicUsize) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    // Read whatever the client sends (headers and body), without parsing it.
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    while !stop.load(Ordering::SeqCst) && !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    match how {
        Misbehaviour::Silent => {
            while !stop.load(Ordering::SeqCst) {
                match stream.read(&mut buf) {
                    Ok(0) => return,
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        Misbehaviour::Trickle { every } => {
            let body = "{\"authorizationData\":[{\"authorizationToken\":\"QVdTOnB3\",\"expiresAt\":4102444800}]}";
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            for byte in answer.bytes().cycle() {
                if stop.load(Ordering::SeqCst) || stream.write_all(&[byte]).is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(every);
            }
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// A TCP front for the fake: forwards while up; while down nothing listens on its port, so
/// connections are refused, as when AWS is unreachable. The URL never changes, so the cache
/// key (which includes `AWS_ENDPOINT_URL`) stays the same across up and down.
pub struct Front {
    port: u16,
    target: SocketAddr,
    running: Mutex<Option<(Arc<AtomicBool>, JoinHandle<()>)>>,
}

impl Front {
    /// A front forwarding to `target_uri` (`http://127.0.0.1:<port>`), up.
    pub fn new(target_uri: &str) -> Front {
        let target: SocketAddr = target_uri
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let front = Front {
            port,
            target,
            running: Mutex::new(None),
        };
        front.run(listener);
        front
    }

    /// The URL to give the helper as `AWS_ENDPOINT_URL`.
    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn run(&self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let target = self.target;
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        if let Ok(upstream) = TcpStream::connect(target) {
                            pipe(client, upstream);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        *self.running.lock().unwrap() = Some((stop, thread));
    }

    /// Stops listening: from now on connections to the port are refused.
    pub fn down(&self) {
        if let Some((stop, thread)) = self.running.lock().unwrap().take() {
            stop.store(true, Ordering::SeqCst);
            thread.join().unwrap();
        }
        // Prove it: nothing answers on the port any more.
        assert!(TcpStream::connect(("127.0.0.1", self.port)).is_err());
    }

    /// Listens again, unless it already does.
    pub fn up_if_down(&self) {
        if self.running.lock().unwrap().is_none() {
            self.up();
        }
    }

    /// Listens again on the same port.
    pub fn up(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.run(listener);
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.running.lock().unwrap().take() {
            stop.store(true, Ordering::SeqCst);
            let _ = thread.join();
        }
    }
}

fn pipe(a: TcpStream, b: TcpStream) {
    let (a2, b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    std::thread::spawn(move || copy(a, b));
    std::thread::spawn(move || copy(b2, a2));
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

/// Starts one helper process per `(helper, args, stdin)` with stdin held open, then releases
/// them all at once (each reads stdin to the end before doing anything), and waits for all
/// (at most `limit`). Outputs are recorded for the secrets sweep.
pub fn burst(runs: &[(&Helper, Vec<String>, Vec<u8>)], limit: Duration) -> Vec<Out> {
    let mut children: Vec<(Child, Instant)> = runs
        .iter()
        .map(|(h, args, _)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let child = h
                .command(&args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn helper");
            (child, Instant::now())
        })
        .collect();
    for ((child, started), (_, _, input)) in children.iter_mut().zip(runs) {
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input);
        *started = Instant::now();
    }
    // Poll them all, so that each one's time is taken when it exits.
    let deadline = Instant::now() + limit;
    let mut ended: Vec<Option<Duration>> = vec![None; children.len()];
    while ended.iter().any(Option::is_none) && Instant::now() < deadline {
        for ((child, started), end) in children.iter_mut().zip(ended.iter_mut()) {
            if end.is_none() && child.try_wait().unwrap().is_some() {
                *end = Some(started.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    children
        .into_iter()
        .zip(ended)
        .map(|((mut child, started), end)| {
            let _ = child.kill();
            let mut out = collect(child, started);
            out.elapsed = end.unwrap_or(out.elapsed);
            out
        })
        .collect()
}

/// Every file under `dir` (recursively) with its bytes.
pub fn all_files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return v;
    };
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            v.extend(all_files(&p));
        } else if meta.is_file() {
            if let Ok(bytes) = std::fs::read(&p) {
                v.push((p, bytes));
            }
        }
    }
    v
}

/// Rewrites fields of a cache entry file in place (keeping its inode and 0600 mode).
pub fn edit_entry(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, format!("{v}\n")).unwrap();
}
