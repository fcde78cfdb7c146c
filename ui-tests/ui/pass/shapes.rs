//! Every supported shape and attribute, with the keys they give.
use std::borrow::Cow;
use std::time::Duration;

use kvdb::model::{KeyPart, PartWriter, key_of, model_key, scan_pattern};
use kvdb::{KvModel, registry};
use serde::{Deserialize, Serialize};

/// Default tag (the type's name), prefix = tag, one key field.
#[derive(Serialize, Deserialize, KvModel)]
struct Plain {
    #[kv(key)]
    id: u64,
    name: String,
}

/// Named struct, several key fields in field order, hash tag, TTL string, version.
#[derive(Serialize, Deserialize, KvModel)]
#[kv(tag = "orgs.Member", prefix = "members", hash_tag = "{org}", ttl = "1h30m", version = 3)]
#[kv(migrate_from(1, member_v1), migrate_from(2, member_v2))]
struct Member {
    #[kv(key)]
    org: String,
    role: String,
    #[kv(key)]
    id: u32,
}

#[derive(Deserialize)]
struct MemberV1 {
    org: String,
    id: u32,
}

fn member_v1(old: MemberV1) -> Result<Member, kvdb::Error> {
    Ok(Member { org: old.org, role: "member".into(), id: old.id })
}

fn member_v2(old: serde_json::Value) -> Result<Member, String> {
    serde_json::from_value(old).map_err(|e| e.to_string())
}

/// Template, in template order (not field order), with a hash tag; TTL in seconds.
#[derive(Serialize, Deserialize, KvModel)]
#[kv(tag = "orgs/Invite-v2:x", key = "org:{org}:invite:{code}", hash_tag = "{org}", ttl = 3600)]
struct Invite {
    code: Box<str>,
    org: String,
}

/// Shared with Python: the class written, another read, as a dataclass.
#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "points", python = "models.Point", python = "legacy.models.Point", python_kind = "dataclass")]
struct Point {
    #[kv(key)]
    label: String,
    x: i64,
}

/// Tuple struct keyed by position.
#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "flags:{0}:{2}")]
struct Flag(char, bool, i16);

/// Unit struct and enum: singletons.
#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "app:maintenance")]
struct Maintenance;

#[derive(Serialize, Deserialize, KvModel)]
#[kv(tag = "app.Mode", key = "app:mode")]
enum Mode {
    Normal,
    Degraded { reason: String },
    ReadOnly(u8),
}

/// Every built-in key part type, a raw identifier, and a custom `KeyPart`.
#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "all")]
struct AllKeys {
    #[kv(key)]
    a: u8,
    #[kv(key)]
    b: i128,
    #[kv(key)]
    c: usize,
    #[kv(key)]
    d: isize,
    #[kv(key)]
    e: bool,
    #[kv(key)]
    r#type: Cow<'static, str>,
    #[kv(key)]
    g: Sku,
}

#[derive(Serialize, Deserialize)]
struct Sku(u32);

impl KeyPart for Sku {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        out.push_str("sku-");
        self.0.write_part(out);
    }
}

/// A crate that re-exports kvdb.
mod reexport {
    pub use kvdb as db;
}

#[derive(Serialize, Deserialize, KvModel)]
#[kv(crate = "reexport::db", prefix = "re")]
struct ViaReexport {
    #[kv(key)]
    id: u8,
}

fn main() -> kvdb::Result<()> {
    assert_eq!(Plain::TAG, "Plain");
    assert_eq!(key_of::<Plain>(&7)?, "Plain:7");
    let p = Plain { id: 8, name: String::new() };
    assert_eq!(model_key(&p)?, "Plain:8");
    let _ = p.name;

    assert_eq!((Member::TAG, Member::VERSION), ("orgs.Member", 3));
    assert_eq!(Member::TTL, Some(Duration::from_secs(5400)));
    assert_eq!(Member::MIGRATIONS.iter().map(|m| m.from()).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(key_of::<Member>(&("a:b", 5))?, "members:{a%3Ab}:5");
    assert_eq!(scan_pattern::<Member>(), "members:{*}:*");

    assert_eq!(Invite::TTL, Some(Duration::from_secs(3600)));
    assert_eq!(key_of::<Invite>(&("acme", "x y"))?, "org:{acme}:invite:x y");

    assert_eq!(key_of::<Flag>(&('*', -3))?, "flags:*:-3");
    assert_eq!(scan_pattern::<Flag>(), "flags:*:*");
    assert_eq!(key_of::<Maintenance>(&())?, "app:maintenance");
    assert_eq!(key_of::<Mode>(&())?, "app:mode");
    let _ = (Mode::Normal, Mode::Degraded { reason: String::new() }, Mode::ReadOnly(0));
    let _ = (Flag('a', true, 1).1, Maintenance);

    let key = (1u8, -2i128, 3usize, -4isize, true, Cow::Borrowed("{x}"), Sku(9));
    assert_eq!(key_of::<AllKeys>(&key)?, "all:1:-2:3:-4:true:%7Bx%7D:sku-9");

    assert_eq!(key_of::<ViaReexport>(&1)?, "re:1");

    assert_eq!(Point::PYTHON, ["models.Point", "legacy.models.Point"]);
    assert_eq!(Point::PYTHON_KIND, kvdb::format::PyKind::Dataclass);
    assert_eq!(Plain::PYTHON, [] as [&str; 0]);
    assert_eq!(key_of::<Point>("o")?, "points:o");
    let _ = Point { label: String::new(), x: 0 }.x;

    registry::check()?;
    let tags: Vec<&str> = registry::registrations()?.iter().map(|r| r.tag()).collect();
    let mut expected = [
        "AllKeys", "Flag", "Maintenance", "Plain", "Point", "ViaReexport", "app.Mode",
        "orgs.Member", "orgs/Invite-v2:x",
    ];
    expected.sort_unstable();
    assert_eq!(tags, expected);
    Ok(())
}
