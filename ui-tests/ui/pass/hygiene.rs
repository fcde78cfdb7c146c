//! The derive's output only uses absolute paths: shadowing prelude names and `std` in the
//! module of the model changes nothing, and it compiles without a single warning. (Primitive
//! names like `str` are not shadowed here: serde's own derive does not survive that.)
#![deny(warnings)]

mod shadows {
    #![allow(dead_code, non_snake_case, non_camel_case_types, unused_imports)]

    use ::kvdb::KvModel;
    use ::serde::{Deserialize, Serialize};

    struct Result;
    struct Option;
    struct String;
    struct Vec;
    struct Box;
    struct Duration;
    fn Ok() {}
    fn Some() {}
    fn None() {}
    mod std {}
    mod core {}
    mod kvdb {}
    mod inventory {}
    trait FnMut {}

    #[derive(Serialize, Deserialize, KvModel)]
    #[kv(tag = "hygiene.Item", prefix = "items", ttl = "1d", version = 2, migrate_from(1, up))]
    pub struct Item {
        #[kv(key)]
        pub id: u64,
        #[kv(key)]
        pub name: ::std::string::String,
    }

    #[derive(Serialize, Deserialize, KvModel)]
    #[kv(key = "single")]
    pub struct Single;

    fn up(old: (u64, ::std::string::String)) -> ::std::result::Result<Item, ::kvdb::Error> {
        ::std::result::Result::Ok(Item { id: old.0, name: old.1 })
    }
}

fn main() {
    let item = shadows::Item { id: 1, name: "a".into() };
    assert_eq!(kvdb::model::model_key(&item).ok(), Some("items:1:a".to_owned()));
    let _ = shadows::Single;
}
