//! The Redis server the harness talks to: `KVDB_BENCH_URL`, or a throwaway `redis-server` on a
//! free loopback port (no persistence), pinned to CPU 0 while the harness pins itself to CPU 1.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kvdb::redis;

pub(crate) struct Server {
    child: Option<Child>,
    dir: Option<PathBuf>,
    pub(crate) url: String,
    /// How the processes are placed on CPUs, for the report.
    pub(crate) placement: String,
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Pins every thread of this process to `cpu` (before any runtime starts, so threads
/// created later inherit it).
fn pin_self(cpu: usize) -> bool {
    Command::new("taskset")
        .args([
            "-a",
            "-p",
            "-c",
            &cpu.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pong(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 16];
    s.write_all(b"PING\r\n").is_ok()
        && matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

impl Server {
    pub(crate) fn start() -> Server {
        let pin = has_taskset() && cpus() >= 2;
        if let Ok(url) = std::env::var("KVDB_BENCH_URL") {
            let placement = if pin && pin_self(1) {
                "client pinned to CPU 1 (taskset); server from KVDB_BENCH_URL, not pinned".into()
            } else {
                "not pinned; server from KVDB_BENCH_URL".into()
            };
            return Server {
                child: None,
                dir: None,
                url,
                placement,
            };
        }
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let dir = std::env::temp_dir().join(format!("kvdb-bench-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("server dir");
        let mut cmd = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", "redis-server"]);
            c
        } else {
            Command::new("redis-server")
        };
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--logfile", "redis.log"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect(
            "could not start redis-server (install Redis, or set KVDB_BENCH_URL to a server \
             on loopback that may be flushed)",
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pong(port) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let placement = if pin && pin_self(1) {
            "redis-server pinned to CPU 0, client (every thread) to CPU 1, with taskset".into()
        } else {
            "not pinned (no taskset, or a single CPU)".into()
        };
        Server {
            child: Some(child),
            dir: Some(dir),
            url: format!("redis://127.0.0.1:{port}/0"),
            placement,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(d) = self.dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// What the report says about the machine.
pub(crate) fn machine(url: &str) -> Vec<(String, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let redis_version = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .and_then(|mut c| redis::cmd("INFO").arg("server").query::<String>(&mut c))
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("redis_version:")
                    .map(|v| v.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    let nproc = Command::new("nproc")
        .arg("--all")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| cpus().to_string());
    vec![
        ("nproc".into(), nproc),
        ("CPU".into(), cpu),
        ("redis".into(), redis_version),
    ]
}

/// The 1-minute load average.
pub(crate) fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
