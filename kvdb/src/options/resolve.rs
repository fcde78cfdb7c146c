//! Resolving [`SessionOptions`] against the environment into checked connection and codec
//! settings, with no I/O.

use super::*;

impl SessionOptions {
    /// Resolves the options against the environment: connection settings and codec settings,
    /// checked, with no I/O.
    pub(crate) fn resolve(&self) -> Result<Resolved> {
        self.resolve_with_env(&|k| std::env::var(k).ok())
    }

    pub(crate) fn resolve_with_env(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved> {
        let invalid =
            |option: &'static str, reason: String| Error::InvalidOption { option, reason };
        let url = self
            .url
            .clone()
            .or_else(|| env("KVDB_URL"))
            .or_else(|| env("REDIS_URL"));
        let (mut parsed, from_env_parts) = match url {
            Some(u) => (
                settings::parse_url(&u).map_err(|r| invalid("url", r))?,
                false,
            ),
            None => (
                settings::parse_url(DEFAULT_URL).map_err(|r| invalid("url", r))?,
                true,
            ),
        };
        if from_env_parts {
            let var = |k: &str| env(k).filter(|v| !v.is_empty());
            if let (Some(h), Addr::Tcp { host, .. }) = (var("REDIS_HOST"), &mut parsed.addr) {
                *host = h;
            }
            if let Some(p) = var("REDIS_PORT") {
                let p = settings::parse_port(&p).map_err(|r| invalid("REDIS_PORT", r))?;
                if let Addr::Tcp { port, .. } = &mut parsed.addr {
                    *port = p;
                }
            }
            if let Some(d) = var("REDIS_DB") {
                parsed.db = Some(settings::parse_db(&d).map_err(|r| invalid("REDIS_DB", r))?);
            }
            if let Some(u) = var("REDIS_USERNAME") {
                parsed.username = Some(u);
            }
            if let Some(p) = var("REDIS_PASSWORD") {
                parsed.password = Some(Secret(p));
            }
        }
        let url_tls = parsed.addr.tls();
        self.multi_node_addr(&mut parsed.addr, url_tls)?;
        if let Some(on) = self.use_tls
            && !parsed.addr.set_tls(on)
        {
            return Err(invalid(
                "tls",
                "a unix socket connection cannot use TLS".into(),
            ));
        }
        match (&mut parsed.addr, &self.host, self.port) {
            (Addr::Tcp { host, .. }, h, p) => {
                if let Some(h) = h {
                    if h.is_empty() {
                        return Err(invalid("host", "the host is empty".into()));
                    }
                    host.clone_from(h);
                }
                if let Some(p) = p {
                    if p == 0 {
                        return Err(invalid("port", "port 0 is not a valid port".into()));
                    }
                    if let Addr::Tcp { port, .. } = &mut parsed.addr {
                        *port = p;
                    }
                }
            }
            (Addr::Unix(_), Some(_), _) | (Addr::Unix(_), _, Some(_)) => {
                return Err(invalid(
                    "host",
                    "host and port cannot override a unix socket URL".into(),
                ));
            }
            (Addr::Cluster { .. } | Addr::Sentinel { .. }, Some(_), _)
            | (Addr::Cluster { .. } | Addr::Sentinel { .. }, _, Some(_)) => {
                return Err(invalid(
                    "host",
                    "host and port cannot override a cluster or sentinel address; list the \
                     nodes instead"
                        .into(),
                ));
            }
            _ => {}
        }
        let db = match self.db_id {
            Some(d) => settings::check_db(d).map_err(|r| invalid("db_id", r))?,
            None => parsed.db.unwrap_or(0),
        };
        self.check_limits()?;
        self.check_mode(&parsed.addr, db)?;
        let tls = parsed.addr.tls();
        if tls && !cfg!(feature = "tls") {
            return Err(invalid(
                "url",
                "TLS (rediss://) needs kvdb's `tls` cargo feature".into(),
            ));
        }
        if !tls && self.tls.is_set() {
            return Err(invalid(
                "tls",
                "TLS certificates were given for a URL without TLS; use rediss:// (or \
                 keydbs://, valkeys://)"
                    .into(),
            ));
        }
        let sentinel_username = self.sentinel_username.clone().or(parsed.sentinel_username);
        let sentinel_password = self.sentinel_password.clone().or(parsed.sentinel_password);
        if (sentinel_username.is_some() || sentinel_password.is_some())
            && !matches!(parsed.addr, Addr::Sentinel { .. })
        {
            return Err(invalid(
                "sentinel_password",
                "sentinel credentials were given for a session that is not a sentinel session"
                    .into(),
            ));
        }
        let conn = ConnectionSettings {
            addr: parsed.addr,
            db,
            username: self.username.clone().or(parsed.username),
            password: self.password.clone().or(parsed.password),
            sentinel_username,
            sentinel_password,
            protocol: self.protocol.or(parsed.protocol).unwrap_or_default(),
            connect_timeout: self.connect_timeout,
            response_timeout: self.response_timeout,
            pool_size: self.pool_size,
            pool_timeout: self.pool_timeout,
            client_name: self.client_name.clone(),
            tls: self.tls.clone(),
            read_from_replicas: self.read_from_replicas,
            retry: self.retry,
        };
        Ok(Resolved {
            conn,
            encoder: self.encoder()?,
            limits: Limits {
                max_value_size: self.max_value_size,
                max_decompressed_size: self.max_decompressed_size,
            },
        })
    }

    /// Checks the timeouts, pool size, size limits and client name: each is refused with
    /// [`Error::InvalidOption`] naming it, so that sync and async sessions never get a value
    /// one of them cannot use (a zero timeout makes blocking sockets fail every call, and a
    /// zero or huge pool timeout makes the pool panic).
    fn check_limits(&self) -> Result<()> {
        let invalid =
            |option: &'static str, reason: String| Error::InvalidOption { option, reason };
        let timeout = |option: &'static str, d: Duration, zero_hint: &str| {
            if d.is_zero() {
                Err(invalid(
                    option,
                    format!("a zero timeout cannot be met; {zero_hint}"),
                ))
            } else if d > MAX_TIMEOUT {
                Err(invalid(
                    option,
                    format!("{d:?} is longer than the longest timeout, {MAX_TIMEOUT:?} (a year)"),
                ))
            } else {
                Ok(())
            }
        };
        timeout(
            "connect_timeout",
            self.connect_timeout,
            "give a positive duration",
        )?;
        if let Some(t) = self.response_timeout {
            timeout("response_timeout", t, "use `None` to wait for ever")?;
        }
        timeout(
            "pool_timeout",
            self.pool_timeout,
            "give a positive duration",
        )?;
        if self.pool_size == 0 {
            return Err(invalid(
                "pool_size",
                "the pool needs at least 1 connection".into(),
            ));
        }
        // r2d2 reserves a slot per connection up front: a pool of billions aborts the process.
        if self.pool_size > MAX_POOL_SIZE {
            return Err(invalid(
                "pool_size",
                format!(
                    "{} connections is more than the most, {MAX_POOL_SIZE}",
                    self.pool_size
                ),
            ));
        }
        if self.max_value_size == 0 {
            return Err(invalid(
                "max_value_size",
                "a limit of 0 bytes refuses every value".into(),
            ));
        }
        if self.max_decompressed_size == 0 {
            return Err(invalid(
                "max_decompressed_size",
                "a limit of 0 bytes refuses every compressed value".into(),
            ));
        }
        if let Some(name) = &self.client_name
            && (name.is_empty() || !name.bytes().all(|b| (b'!'..=b'~').contains(&b)))
        {
            return Err(invalid(
                "client_name",
                format!(
                    "{name:?}: Redis accepts only non-empty client names of printable ASCII \
                     without spaces (CLIENT SETNAME)"
                ),
            ));
        }
        Ok(())
    }

    /// Applies [`cluster_nodes`](Self::cluster_nodes) or [`sentinel`](Self::sentinel), with
    /// TLS if the URL has it (`rediss://`).
    fn multi_node_addr(&self, addr: &mut Addr, tls: bool) -> Result<()> {
        let invalid =
            |option: &'static str, reason: String| Error::InvalidOption { option, reason };
        match (&self.cluster_nodes, &self.sentinel) {
            (Some(_), Some(_)) => Err(invalid(
                "cluster_nodes",
                "a session is either a cluster or a sentinel session, not both".into(),
            )),
            (Some(nodes), None) => {
                let nodes = settings::parse_nodes(nodes.iter().map(String::as_str), 6379)
                    .map_err(|r| invalid("cluster_nodes", r))?;
                *addr = Addr::Cluster { nodes, tls };
                Ok(())
            }
            (None, Some((master, sentinels))) => {
                if master.is_empty() {
                    return Err(invalid("sentinel", "the master name is empty".into()));
                }
                let sentinels = settings::parse_nodes(
                    sentinels.iter().map(String::as_str),
                    settings::SENTINEL_PORT,
                )
                .map_err(|r| invalid("sentinel", r))?;
                *addr = Addr::Sentinel {
                    sentinels,
                    master: master.clone(),
                    tls,
                };
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }

    /// Checks the mode against the build's features and the mode's limits.
    fn check_mode(&self, addr: &Addr, db: i64) -> Result<()> {
        let invalid =
            |option: &'static str, reason: String| Error::InvalidOption { option, reason };
        match addr {
            Addr::Cluster { .. } => {
                if !cfg!(feature = "cluster") {
                    return Err(invalid(
                        "url",
                        "Redis Cluster sessions need kvdb's `cluster` cargo feature".into(),
                    ));
                }
                if db != 0 {
                    return Err(invalid(
                        "db_id",
                        format!("Redis Cluster has only database 0, not {db}"),
                    ));
                }
            }
            Addr::Sentinel { .. } if !cfg!(feature = "sentinel") => {
                return Err(invalid(
                    "url",
                    "Sentinel sessions need kvdb's `sentinel` cargo feature".into(),
                ));
            }
            _ => {}
        }
        if self.read_from_replicas && !matches!(addr, Addr::Cluster { .. } | Addr::Sentinel { .. })
        {
            return Err(invalid(
                "read_from_replicas",
                "replica reads are for cluster and sentinel sessions; for a single server, \
                 open a second session on a replica's address"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The codec settings: serializer and compression, checked against the build.
    fn encoder(&self) -> Result<Encoder> {
        let invalid =
            |option: &'static str, reason: String| Error::InvalidOption { option, reason };
        if let Some(codec) = self.serializer.codec()
            && !crate::format::codec_compiled_in(codec)
        {
            return Err(invalid(
                "serializer",
                format!(
                    "the {} serializer needs kvdb's `{}` cargo feature",
                    self.serializer,
                    crate::format::codec_feature(codec)
                ),
            ));
        }
        let algorithm = match (self.compression_enabled, self.compression) {
            (Some(false), _) | (None, None) => Compression::None,
            (_, Some(c)) => c,
            (Some(true), None) => Compression::best_available().ok_or_else(|| {
                invalid(
                    "compression_enabled",
                    "no compression algorithm is compiled in (features zstd, lz4, zlib, gzip)"
                        .into(),
                )
            })?,
        };
        if self.compression_level.is_some() && algorithm == Compression::None {
            return Err(invalid(
                "compression_level",
                "a level was set but compression is off; set compression(...) too".into(),
            ));
        }
        if self.format == Format::KvdbPy && self.serializer == Serializer::Cbor {
            return Err(invalid(
                "serializer",
                "kvdb-py has no CBOR serializer; use Json or MsgPack with Format::KvdbPy".into(),
            ));
        }
        let default_level = match self.format {
            Format::Native => algorithm.levels().0,
            Format::KvdbPy => crate::format::kvdb_py_default_level(algorithm),
        };
        let compression = CompressionOptions {
            algorithm,
            level: self.compression_level.unwrap_or(default_level),
            min_size: self.compression_min_size,
        };
        compression.validate().map_err(|r| {
            invalid(
                if self.compression_level.is_some() && algorithm.is_compiled_in() {
                    "compression_level"
                } else {
                    "compression"
                },
                r,
            )
        })?;
        Ok(Encoder {
            format: self.format,
            serializer: self.serializer,
            serializer_options: self.serializer_options,
            compression,
        })
    }
}

/// The most connections a sync pool may have.
pub(crate) const MAX_POOL_SIZE: u32 = 65_536;

/// The longest accepted connect, response and pool timeout: a year (longer ones overflow
/// clocks in the pool and the runtimes).
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Options resolved and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub(crate) conn: ConnectionSettings,
    pub(crate) encoder: Encoder,
    pub(crate) limits: Limits,
}

/// Size limits of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Limits {
    pub(crate) max_value_size: usize,
    pub(crate) max_decompressed_size: usize,
}
