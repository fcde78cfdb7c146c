//! A throwaway PKI for the TLS tests (rcgen): a CA, a server certificate for loopback
//! (`localhost`, `127.0.0.1`) and a client certificate, as PEM text and files.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A CA and what it signed, as PEM text.
pub(crate) struct Pki {
    pub(crate) ca: String,
    pub(crate) server_cert: String,
    pub(crate) server_key: String,
    pub(crate) client_cert: String,
    pub(crate) client_key: String,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p
}

/// A fresh CA called `name` and the certificates it signed.
pub(crate) fn make_pki(name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let params = ca_params(name);
    let ca = params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(params, ca_key);
    let leaf = |sans: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(sans)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_cert, client_key) = leaf(vec!["kvdb-test-client".into()]);
    Pki {
        ca: ca.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

/// Writes the PKI's files into a fresh directory.
/// `ca.pem`, `server.pem` and `server.key` in `dir` (created).
pub(crate) fn write(pki: &Pki, dir: &Path) -> [PathBuf; 3] {
    std::fs::create_dir_all(dir).unwrap();
    let files = [
        (dir.join("ca.pem"), &pki.ca),
        (dir.join("server.pem"), &pki.server_cert),
        (dir.join("server.key"), &pki.server_key),
    ];
    for (path, text) in &files {
        std::fs::write(path, text).unwrap();
    }
    files.map(|(p, _)| p)
}

/// The files of `pki` in a fresh directory, for test servers.
#[allow(dead_code)] // not every test binary starts servers this way
pub(crate) fn test_tls(pki: &Pki, dir: &Path, auth_clients: bool) -> kvdb::testing::TestTls {
    let [ca, cert, key] = write(pki, dir);
    kvdb::testing::TestTls {
        ca,
        cert,
        key,
        auth_clients,
    }
}
