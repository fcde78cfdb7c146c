//! [`SessionOptions`]: the builder passed to [`KVDBClient::get_session`](crate::KVDBClient).

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::format::{
    Compression, CompressionOptions, DEFAULT_MAX_DECOMPRESSED, Encoder, Format, Serializer,
    SerializerOptions,
};
use crate::settings::{self, Addr, ConnectionSettings, Pem, Protocol, Secret, TlsSettings};

/// The URL used when neither the options nor the environment name one.
pub const DEFAULT_URL: &str = "redis://localhost:6379/0";

/// The settings of a session, built with chained calls and passed to
/// [`KVDBClient::get_session`](crate::KVDBClient::get_session).
///
/// # Where the connection settings come from
///
/// | setting | first | then | then | then | default |
/// |---|---|---|---|---|---|
/// | URL | [`url`](Self::url) | `KVDB_URL` | `REDIS_URL` | built from `REDIS_HOST`, `REDIS_PORT`, `REDIS_DB`, `REDIS_USERNAME`, `REDIS_PASSWORD` | `redis://localhost:6379/0` |
/// | host, port, db, username, password | [`host`](Self::host), [`port`](Self::port), [`db_id`](Self::db_id), [`username`](Self::username), [`password`](Self::password) | the URL's part | | | `localhost`, `6379`, `0`, none, none |
///
/// The `REDIS_HOST`-style variables are read only when no URL is given at all (neither by
/// [`url`](Self::url) nor by `KVDB_URL`/`REDIS_URL`). Explicit parts always win over the URL.
/// The environment is read by `get_session`, not by `new`.
///
/// ```
/// use kvdb::{Compression, Serializer, SessionOptions};
/// use std::time::Duration;
///
/// let opts = SessionOptions::new("cache")
///     .url("redis://app:s3cret@localhost:6379/2")
///     .serializer(Serializer::Json)
///     .compression(Compression::Zstd)
///     .response_timeout(Duration::from_secs(2));
/// // The password never shows.
/// assert!(!format!("{opts:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionOptions {
    pub(crate) name: String,
    url: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    db_id: Option<i64>,
    username: Option<String>,
    password: Option<Secret>,
    pub(crate) serializer: Serializer,
    pub(crate) serializer_options: SerializerOptions,
    format: Format,
    compression: Option<Compression>,
    compression_level: Option<i32>,
    compression_enabled: Option<bool>,
    compression_min_size: usize,
    connect_timeout: Duration,
    response_timeout: Option<Duration>,
    pool_size: u32,
    pool_timeout: Duration,
    protocol: Option<Protocol>,
    client_name: Option<String>,
    max_value_size: usize,
    max_decompressed_size: usize,
    pub(crate) tls: TlsSettings,
    cluster_nodes: Option<Vec<String>>,
    sentinel: Option<(String, Vec<String>)>,
    sentinel_username: Option<String>,
    sentinel_password: Option<Secret>,
    use_tls: Option<bool>,
    read_from_replicas: bool,
    retry: crate::Retry,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions::new("default")
    }
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("name", &self.name)
            .field("url", &self.url.as_deref().map(settings::redact))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("db_id", &self.db_id)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("serializer", &self.serializer)
            .field("format", &self.format)
            .field("compression", &self.compression)
            .field("compression_level", &self.compression_level)
            .field("compression_enabled", &self.compression_enabled)
            .field("tls_certificates", &self.tls)
            .field("cluster_nodes", &self.cluster_nodes)
            .field("sentinel", &self.sentinel)
            .field("sentinel_username", &self.sentinel_username)
            .field("sentinel_password", &self.sentinel_password)
            .field("tls", &self.use_tls)
            .field("read_from_replicas", &self.read_from_replicas)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident: $ty:ty => $field:ident = $val:expr) => {
        $(#[$m])*
        pub fn $name(mut self, $name: $ty) -> Self {
            self.$field = $val;
            self
        }
    };
}

impl SessionOptions {
    /// Options for the session called `name`, with every default.
    pub fn new(name: impl Into<String>) -> Self {
        SessionOptions {
            name: name.into(),
            url: None,
            host: None,
            port: None,
            db_id: None,
            username: None,
            password: None,
            serializer: Serializer::None,
            serializer_options: SerializerOptions::new(),
            format: Format::Native,
            compression: None,
            compression_level: None,
            compression_enabled: None,
            compression_min_size: CompressionOptions::DEFAULT_MIN_SIZE,
            connect_timeout: Duration::from_secs(5),
            response_timeout: Some(Duration::from_secs(30)),
            pool_size: 16,
            pool_timeout: Duration::from_secs(5),
            protocol: None,
            client_name: None,
            max_value_size: 512 * 1024 * 1024,
            max_decompressed_size: DEFAULT_MAX_DECOMPRESSED,
            tls: TlsSettings::default(),
            cluster_nodes: None,
            sentinel: None,
            sentinel_username: None,
            sentinel_password: None,
            use_tls: None,
            read_from_replicas: false,
            retry: crate::Retry::default(),
        }
    }

    /// Connects to a Redis Cluster through these seed nodes (`"host:port"`, port 6379 if
    /// none); overrides the URL's address, keeps its credentials. The same as the URL
    /// `redis+cluster://h1:p1,h2:p2`. Needs the `cluster` feature.
    ///
    /// ```
    /// use kvdb::SessionOptions;
    /// let opts = SessionOptions::new("orders").cluster_nodes(["10.0.0.1:7000", "10.0.0.2:7000"]);
    /// # let _ = opts;
    /// ```
    pub fn cluster_nodes<S: Into<String>>(mut self, nodes: impl IntoIterator<Item = S>) -> Self {
        self.cluster_nodes = Some(nodes.into_iter().map(Into::into).collect());
        self
    }

    /// Connects to the primary that these sentinels (`"host:port"`, port 26379 if none)
    /// monitor under the name `master`, and follows it through failovers; overrides the URL's
    /// address, keeps its credentials and db. The same as the URL
    /// `redis+sentinel://s1:p1,s2:p2/master/db`. Needs the `sentinel` feature.
    ///
    /// ```
    /// use kvdb::SessionOptions;
    /// let opts = SessionOptions::new("jobs").sentinel("mymaster", ["10.0.0.1:26379", "10.0.0.2:26379"]);
    /// # let _ = opts;
    /// ```
    pub fn sentinel<S: Into<String>>(
        mut self,
        master: impl Into<String>,
        sentinels: impl IntoIterator<Item = S>,
    ) -> Self {
        self.sentinel = Some((
            master.into(),
            sentinels.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// The session's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    setter!(
        /// The server URL, e.g. `redis://user:pass@host:6379/0`, `rediss://...`,
        /// `redis+unix:///run/redis.sock?db=1`, `valkey://...`, a cluster
        /// `redis+cluster://h1:7000,h2:7000` or a sentinel-managed primary
        /// `redis+sentinel://s1:26379,s2:26379/mymaster/0` (see `docs/scaling.md`). See the
        /// type docs for precedence.
        url: impl Into<String> => url = Some(url.into())
    );
    setter!(
        /// Overrides the URL's host.
        host: impl Into<String> => host = Some(host.into())
    );
    setter!(
        /// Overrides the URL's port.
        port: u16 => port = Some(port)
    );
    setter!(
        /// Overrides the URL's database index.
        db_id: i64 => db_id = Some(db_id)
    );
    setter!(
        /// Overrides the URL's username (Redis 6 ACL user).
        username: impl Into<String> => username = Some(username.into())
    );
    setter!(
        /// Overrides the URL's password. It never appears in `Debug`, `Display` or errors.
        password: impl Into<String> => password = Some(Secret(password.into()))
    );
    setter!(
        /// The serializer for structured values. Default [`Serializer::None`]: scalars only.
        serializer: Serializer => serializer = serializer
    );
    setter!(
        /// Serializer options (JSON layout).
        serializer_options: SerializerOptions => serializer_options = serializer_options
    );
    setter!(
        /// The stored-value format this session writes: [`Format::Native`] (the default) or
        /// [`Format::KvdbPy`], byte-compatible with the Python library kvdb-py (JSON or
        /// MessagePack; compression levels default to kvdb-py's: zstd 19, gzip 9). Every
        /// session reads both formats.
        format: Format => format = format
    );
    setter!(
        /// The compression algorithm for serialized payloads. Default: none.
        compression: Compression => compression = Some(compression)
    );
    setter!(
        /// The compression level (zstd 1-22, default 3; gzip/zlib 0-9, default 6; lz4: 0).
        compression_level: i32 => compression_level = Some(compression_level)
    );
    setter!(
        /// `Some(true)` with no algorithm picks the best one compiled in (zstd > lz4 > zlib >
        /// gzip); `Some(false)` disables compression even if an algorithm is set.
        compression_enabled: bool => compression_enabled = Some(compression_enabled)
    );
    setter!(
        /// Payloads shorter than this are stored uncompressed. Default 256 bytes.
        compression_min_size: usize => compression_min_size = compression_min_size
    );
    setter!(
        /// How long to wait for a TCP connection. Default 5 s; zero or more than a year is an
        /// [`Error::InvalidOption`] from `get_session`.
        connect_timeout: Duration => connect_timeout = connect_timeout
    );
    setter!(
        /// How long to wait for a reply; `None` waits forever. Default 30 s; `Some(ZERO)` or
        /// more than a year is an [`Error::InvalidOption`] from `get_session`.
        response_timeout: impl Into<Option<Duration>> => response_timeout = response_timeout.into()
    );
    setter!(
        /// The most pooled synchronous connections. Default 16; 0 is an
        /// [`Error::InvalidOption`] from `get_session`.
        pool_size: u32 => pool_size = pool_size
    );
    setter!(
        /// How long a synchronous call waits for a free pooled connection. Default 5 s; zero
        /// or more than a year is an [`Error::InvalidOption`] from `get_session`.
        pool_timeout: Duration => pool_timeout = pool_timeout
    );
    setter!(
        /// RESP2 or RESP3; overrides `?protocol=` in the URL. Default RESP2.
        protocol: Protocol => protocol = Some(protocol)
    );
    setter!(
        /// `CLIENT SETNAME` for this session's connections: printable ASCII without spaces
        /// (what Redis accepts), else an [`Error::InvalidOption`] from `get_session`.
        client_name: impl Into<String> => client_name = Some(client_name.into())
    );
    setter!(
        /// Cluster and sentinel sessions: let replicas serve read-only operations (`get`,
        /// `mget`, `get_models`, `hgetall`... the methods documented as *read-only*), which may
        /// then return slightly stale data: a replica applies the primary's writes a moment
        /// later, so a read just after a write may not see it. Writes always go to the primary.
        /// A sentinel session keeps one pool to a replica the sentinels name (the primary if
        /// none is available) next to the primary's. Default: everything goes to the primary.
        read_from_replicas: bool => read_from_replicas = read_from_replicas
    );
    setter!(
        /// How a request whose connection failed is retried: [`Retry::default`](crate::Retry)
        /// sends reads and idempotent writes once more on a new connection, never
        /// non-idempotent ones (`INCR`, `LPUSH`, `SET NX`...). See `docs/reliability.md`.
        ///
        /// ```
        /// use kvdb::{Retry, SessionOptions};
        /// let opts = SessionOptions::new("strict").retry(Retry::never());
        /// # let _ = opts;
        /// ```
        retry: crate::Retry => retry = retry
    );
    setter!(
        /// Sentinel sessions: the username the sentinels themselves ask for (Redis 6.2+ ACL);
        /// the data nodes' is [`username`](Self::username). The same as the URL's
        /// `?sentinel_username=`.
        sentinel_username: impl Into<String> => sentinel_username = Some(sentinel_username.into())
    );
    setter!(
        /// Sentinel sessions: the password the sentinels ask for (their `requirepass`); the
        /// data nodes' is [`password`](Self::password). The same as the URL's
        /// `?sentinel_password=` (percent-encoded). It never appears in `Debug`, `Display`,
        /// [`Session::url`](crate::Session::url) or errors.
        ///
        /// ```
        /// use kvdb::SessionOptions;
        /// let opts = SessionOptions::new("jobs")
        ///     .sentinel("mymaster", ["10.0.0.1:26379", "10.0.0.2:26379"])
        ///     .password("data-node-secret")
        ///     .sentinel_password("sentinel-secret");
        /// assert!(!format!("{opts:?}").contains("secret\""));
        /// ```
        sentinel_password: impl Into<String> => sentinel_password = Some(Secret(sentinel_password.into()))
    );
    setter!(
        /// Uses TLS (`true`) or not (`false`), overriding the URL's scheme: the way to ask for
        /// TLS with [`cluster_nodes`](Self::cluster_nodes) or [`sentinel`](Self::sentinel)
        /// (the same as `rediss+cluster://` and `rediss+sentinel://`). Certificates:
        /// [`tls_ca_cert`](Self::tls_ca_cert), [`tls_client_cert`](Self::tls_client_cert).
        /// Needs the `tls` feature.
        tls: bool => use_tls = Some(tls)
    );
    setter!(
        /// Values larger than this (encoded) are refused before they are sent. Default 512 MiB;
        /// at least 1.
        max_value_size: usize => max_value_size = max_value_size
    );
    setter!(
        /// Values that decompress past this are refused. Default 512 MiB; at least 1.
        max_decompressed_size: usize => max_decompressed_size = max_decompressed_size
    );
}

mod fields;
mod resolve;

pub(crate) use resolve::{Limits, Resolved};

#[cfg(test)]
mod tests;

/// The TLS options (with the `tls` feature they take effect).
impl SessionOptions {
    /// Trusts the CA certificates in `pem` (PEM text, one or more certificates) for a
    /// `rediss://` server, instead of the system's roots. Needs the `tls` feature.
    pub fn tls_ca_cert(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.ca = Some(Pem::Bytes(pem.into()));
        self
    }

    /// [`tls_ca_cert`](Self::tls_ca_cert) from a PEM file, read by `get_session`.
    pub fn tls_ca_cert_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.tls.ca = Some(Pem::File(path.into()));
        self
    }

    /// Shows this client certificate chain (PEM) and proves it with `key_pem` (a PEM private
    /// key) to a `rediss://` server that asks for one (`tls-auth-clients`). The key never
    /// appears in `Debug`. Needs the `tls` feature.
    pub fn tls_client_cert(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client = Some((Pem::Bytes(cert_pem.into()), Pem::Bytes(key_pem.into())));
        self
    }

    /// [`tls_client_cert`](Self::tls_client_cert) from PEM files, read by `get_session`.
    pub fn tls_client_cert_files(
        mut self,
        cert_path: impl Into<std::path::PathBuf>,
        key_path: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls.client = Some((Pem::File(cert_path.into()), Pem::File(key_path.into())));
        self
    }
}
