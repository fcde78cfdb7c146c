//! Two model types with the same tag in one program: only that tag is ambiguous (reading by it
//! names both types and the fix); every other model is still read by tag, and
//! `registry::check()` reports the ambiguity (its own test binary, since the duplicate is
//! global to the program).
#![allow(clippy::unwrap_used)]

use kvdb::{Error, KvModel, Serializer};
use kvdb_tests::{options, session};
use serde::{Deserialize, Serialize};

mod first {
    use super::*;

    #[derive(Serialize, Deserialize, KvModel)]
    #[kv(tag = "dup.Thing", prefix = "dup:first")]
    pub(crate) struct Thing {
        #[kv(key)]
        pub(crate) id: u8,
    }
}

mod second {
    use super::*;

    #[derive(Serialize, Deserialize, KvModel)]
    #[kv(tag = "dup.Thing", prefix = "dup:second")]
    pub(crate) struct Thing {
        #[kv(key)]
        pub(crate) id: u8,
    }
}

fn assert_duplicate(e: Error) {
    match e {
        Error::DuplicateTag { tag, first, second } => {
            assert_eq!(tag, "dup.Thing");
            let mut names = [first, second];
            names.sort_unstable();
            assert_eq!(
                names,
                [
                    "models_duplicate_tag::first::Thing",
                    "models_duplicate_tag::second::Thing"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_tags_are_reported_with_both_types() {
    assert_duplicate(kvdb::registry::check().unwrap_err());
    // Typed reads and writes do not need the registry and keep working...
    let (s, _) = session(options("dup").serializer(Serializer::Json));
    s.set_model(&first::Thing { id: 1 }).unwrap();
    assert!(s.get_model::<first::Thing>(&1).unwrap().is_some());
    // ...but reading by tag refuses, naming both types, every time.
    assert_duplicate(s.get_any("dup:first:1").unwrap_err());
    assert_duplicate(kvdb::registry::register::<second::Thing>().unwrap_err());
    let _ = second::Thing { id: 0 }.id;
    // Unrelated models keep working by tag.
    s.set_model(&Other { id: 3 }).unwrap();
    let any = s.get_any("dup:other:3").unwrap().unwrap();
    assert_eq!(any.downcast::<Other>().ok().map(|o| o.id), Some(3));
    let e = s.get_any("dup:first:1").unwrap_err().to_string();
    assert!(e.contains("#[kv(tag = \"...\")]"), "{e}");
}

#[derive(Serialize, Deserialize, KvModel)]
#[kv(tag = "dup.Other", prefix = "dup:other")]
struct Other {
    #[kv(key)]
    id: u8,
}
