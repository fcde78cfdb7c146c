//! TLS (`rediss://`, feature `tls`): a throwaway CA and server certificate made at test time
//! (rcgen), a `redis-server` with a TLS port, sync and async sessions trusting that CA, a
//! client certificate for a server that requires one, and refusals for a CA that does not
//! match and for a plain connection.
#![cfg(feature = "tls")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kvdb::testing::{TestServer, free_port};
use kvdb::{Error, KVDBClient, Serializer, Session, SessionOptions};
use kvdb_tests::unique;

#[path = "support/pki.rs"]
mod pki;
use pki::{Pki, make_pki, write};

/// A server with a plain port (for the harness) and a TLS port; returns it and the TLS port.
fn tls_server(pki: &Pki, clients: &str) -> (TestServer, u16, PathBuf) {
    let dir = std::env::temp_dir().join(unique("kvdb-tls"));
    let [ca, cert, key] = write(pki, &dir);
    let port = free_port().unwrap();
    let args = [
        "--tls-port".to_owned(),
        port.to_string(),
        "--tls-cert-file".to_owned(),
        cert.display().to_string(),
        "--tls-key-file".to_owned(),
        key.display().to_string(),
        "--tls-ca-cert-file".to_owned(),
        ca.display().to_string(),
        "--tls-auth-clients".to_owned(),
        clients.to_owned(),
    ];
    let server = TestServer::start_with_args(&args).unwrap();
    (server, port, dir)
}

/// Long, so that failing at once is visibly not the pool timing out.
const LONG: Duration = Duration::from_secs(30);

fn session(opts: SessionOptions) -> Session {
    KVDBClient::get_session(
        opts.serializer(Serializer::Json)
            .connect_timeout(Duration::from_secs(2)),
    )
    .unwrap()
}

use kvdb_tests::rt;

fn round_trip(s: &Session) {
    s.set("k", &vec!["tls".to_owned()]).unwrap();
    assert_eq!(
        s.get::<Vec<String>>("k").unwrap(),
        Some(vec!["tls".to_owned()])
    );
    rt().block_on(async {
        s.aio().set("k2", &7).await.unwrap();
        assert_eq!(s.aio().get::<i32>("k2").await.unwrap(), Some(7));
    });
}

#[test]
fn rediss_works_sync_and_async_with_a_custom_ca() {
    let pki = make_pki("kvdb test CA");
    let (_server, port, dir) = tls_server(&pki, "no");
    // The CA as bytes, by IP address.
    let by_bytes = session(
        SessionOptions::new(unique("tls-bytes"))
            .url(format!("rediss://127.0.0.1:{port}/0"))
            .tls_ca_cert(pki.ca.clone()),
    );
    round_trip(&by_bytes);
    // The CA from a file, by host name.
    let by_file = session(
        SessionOptions::new(unique("tls-file"))
            .url(format!("rediss://localhost:{port}/0"))
            .tls_ca_cert_file(dir.join("ca.pem")),
    );
    round_trip(&by_file);
    assert!(by_file.url().starts_with("rediss://"), "{}", by_file.url());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_client_certificate_is_shown_to_a_server_that_requires_one() {
    let pki = make_pki("kvdb mTLS CA");
    let (_server, port, dir) = tls_server(&pki, "yes");
    let url = format!("rediss://127.0.0.1:{port}/0");
    let with_cert = session(
        SessionOptions::new(unique("tls-mtls"))
            .url(&url)
            .tls_ca_cert(pki.ca.clone())
            .tls_client_cert(pki.client_cert.clone(), pki.client_key.clone()),
    );
    let shown = format!("{:?} {:?}", with_cert.options(), with_cert);
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    round_trip(&with_cert);
    // Without one, the server hangs up during the handshake.
    let without = session(
        SessionOptions::new(unique("tls-no-cert"))
            .url(&url)
            .tls_ca_cert(pki.ca.clone())
            .pool_timeout(Duration::from_secs(2)),
    );
    let e = without.get::<i32>("k").unwrap_err();
    println!("no client certificate: {e}");
    assert!(e.is_connection_error(), "{e:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_server_certificate_from_another_ca_is_refused_clearly() {
    let pki = make_pki("kvdb test CA");
    let other = make_pki("some other CA");
    let (server, port, dir) = tls_server(&pki, "no");
    let s = session(
        SessionOptions::new(unique("tls-wrong-ca"))
            .url(format!("rediss://127.0.0.1:{port}/0"))
            .tls_ca_cert(other.ca.clone())
            .pool_timeout(LONG),
    );
    let started = Instant::now();
    let e = s.get::<i32>("k").unwrap_err();
    let took = started.elapsed();
    println!("wrong CA (sync, {took:?}): {e}");
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    let msg = e.to_string().to_lowercase();
    assert!(msg.contains("certificate"), "{msg}");
    // Not a speed target: the pool timeout is 30 s; a refusal must not wait for it.
    assert!(took < Duration::from_secs(10), "{took:?}");
    let e = rt().block_on(async { s.aio().get::<i32>("k").await.unwrap_err() });
    println!("wrong CA (async): {e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // No CA given: the system's roots do not know the throwaway CA either.
    let started = Instant::now();
    let system = session(
        SessionOptions::new(unique("tls-system-roots"))
            .url(format!("rediss://127.0.0.1:{port}/0"))
            .pool_timeout(Duration::from_secs(2)),
    );
    let e = system.get::<i32>("k").unwrap_err();
    println!("system roots ({:?}): {e}", started.elapsed());
    let started = Instant::now();
    // Plain text to the TLS port is refused too.
    let plain = session(
        SessionOptions::new(unique("tls-plain"))
            .url(format!("redis://127.0.0.1:{port}/0"))
            .response_timeout(Duration::from_secs(2))
            .pool_timeout(Duration::from_secs(2)),
    );
    let e = plain.get::<i32>("k").unwrap_err();
    println!("plain text to the TLS port ({:?}): {e}", started.elapsed());
    // The plain port of the same server still answers: the refusals were about TLS.
    let ok = session(SessionOptions::new(unique("tls-plain-ok")).url(server.url()));
    assert_eq!(ok.get::<i32>("k").unwrap(), None);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_tls_options_are_typed_errors_naming_the_option() {
    let e = KVDBClient::get_session(
        SessionOptions::new(unique("tls-bad-ca"))
            .url("rediss://127.0.0.1:1/0")
            .tls_ca_cert("not a certificate"),
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidOption {
                option: "tls_ca_cert",
                ..
            }
        ),
        "{e:?}"
    );
    let e = KVDBClient::get_session(
        SessionOptions::new(unique("tls-missing-file"))
            .url("rediss://127.0.0.1:1/0")
            .tls_ca_cert_file("/nonexistent/kvdb-ca.pem"),
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidOption { option: "tls_ca_cert", reason } if reason.contains("/nonexistent/kvdb-ca.pem")),
        "{e:?}"
    );
    let e = KVDBClient::get_session(
        SessionOptions::new(unique("tls-not-rediss"))
            .url("redis://127.0.0.1:1/0")
            .tls_ca_cert(make_pki("x").ca),
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidOption { option: "tls", .. }),
        "{e:?}"
    );
}

#[test]
fn a_tls_connection_closed_by_the_server_is_never_handed_out() {
    let pki = make_pki("kvdb stale CA");
    let (server, port, dir) = tls_server(&pki, "no");
    let s = session(
        SessionOptions::new(unique("tls-stale"))
            .url(format!("rediss://127.0.0.1:{port}/0"))
            .tls_ca_cert(pki.ca.clone())
            .retry(kvdb::Retry::never()),
    );
    let mut admin = kvdb_tests::admin(&server.url());
    // Retries are off: only the check of idle connections before use makes these succeed.
    for i in 1..=20 {
        kvdb_tests::kill_clients(&mut admin);
        let n = s
            .incr("tls:counter")
            .unwrap_or_else(|e| panic!("call {i} after CLIENT KILL: {e}"));
        assert_eq!(n, i);
    }
    let _ = std::fs::remove_dir_all(dir);
}
