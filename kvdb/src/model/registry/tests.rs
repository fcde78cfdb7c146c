use serde::{Deserialize, Serialize};

use super::*;
use crate::format::Encoder;
use crate::model::{KeyPart, KeySchema, Segment, decode_any};
use crate::{Serializer, model};

macro_rules! hand_model {
    ($name:ident, $tag:literal) => {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct $name {
            id: u32,
        }

        impl KvModel for $name {
            type Key = u32;
            const TAG: &'static str = $tag;
            const KEY_SCHEMA: KeySchema = KeySchema::new(&[Segment::Lit($tag), Segment::Part]);
            fn visit_key(&self, f: &mut dyn FnMut(&[&dyn KeyPart])) {
                f(&[&self.id])
            }
        }
    };
}

hand_model!(First, "test.registry.Dup");
hand_model!(Second, "test.registry.Dup");
hand_model!(Alone, "test.registry.Alone");
hand_model!(Other, "test.registry.Other");

fn stored<T: KvModel>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    Encoder::new(Serializer::Json)
        .encode_into(value, Some((T::TAG, T::VERSION)), &mut out)
        .unwrap();
    out
}

#[test]
fn a_duplicate_tag_is_ambiguous_and_other_tags_keep_working() {
    let table = Table::build([
        Registration::of::<First>(),
        Registration::of::<Alone>(),
        Registration::of::<Second>(),
    ]);
    let msg = table.tag("test.registry.Dup").unwrap_err().to_string();
    assert!(msg.contains("\"test.registry.Dup\""), "{msg}");
    assert!(msg.contains("registry::tests::First"), "{msg}");
    assert!(msg.contains("registry::tests::Second"), "{msg}");
    assert!(msg.contains("#[kv(tag = \"...\")]"), "{msg}");
    assert!(table.tag("test.registry.Alone").unwrap().is_some());
    assert!(table.tag("test.registry.None").unwrap().is_none());
    let first = table.first_ambiguity().expect("ambiguous");
    assert_eq!(first.tag, "test.registry.Dup");
    // The same type twice is not a duplicate.
    let table = Table::build([Registration::of::<First>(), Registration::of::<First>()]);
    assert!(table.first_ambiguity().is_none());
}

#[test]
fn register_by_hand_refuses_a_taken_tag() {
    register::<First>().unwrap();
    register::<First>().unwrap();
    match register::<Second>() {
        Err(Error::DuplicateTag { tag, first, second }) => {
            assert_eq!(tag, "test.registry.Dup");
            assert!(first.ends_with("First") && second.ends_with("Second"));
        }
        other => panic!("{other:?}"),
    }
    // The refused type did not replace the registered one.
    assert!(
        lookup("test.registry.Dup")
            .unwrap()
            .unwrap()
            .type_name()
            .ends_with("First")
    );
    check().unwrap();
}

#[test]
fn any_model_downcasts_and_debugs_as_json() {
    register::<Alone>().unwrap();
    let bytes = stored(&Alone { id: 7 });
    let any = decode_any(&bytes, usize::MAX).unwrap();
    assert_eq!(any.tag(), "test.registry.Alone");
    assert!(any.is::<Alone>() && !any.is::<Other>());
    assert_eq!(any.downcast_ref::<Alone>(), Some(&Alone { id: 7 }));
    assert_eq!(
        format!("{any:?}"),
        r#"AnyModel { tag: "test.registry.Alone", value: {"id":7} }"#
    );
    let any = any.downcast::<Other>().expect_err("not an Other");
    assert_eq!(any.downcast::<Alone>().unwrap(), Alone { id: 7 });
}

#[test]
fn unknown_and_missing_tags_are_errors() {
    let bytes = stored(&Other { id: 1 });
    match decode_any(&bytes, usize::MAX) {
        Err(Error::UnknownTag { tag, .. }) => assert_eq!(tag, "test.registry.Other"),
        other => panic!("{other:?}"),
    }
    match decode_any(b"kv1j-|{}", usize::MAX) {
        Err(e @ Error::Untagged { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("with set (a json value)"), "{msg}");
            assert!(msg.contains("get::<T>()"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    match model::decode_model::<Alone>(&bytes, usize::MAX) {
        Err(Error::TypeMismatch {
            expected, found, ..
        }) => assert_eq!(
            (expected.as_str(), found.as_str()),
            ("test.registry.Alone", "test.registry.Other")
        ),
        other => panic!("{other:?}"),
    }
    match model::decode_model::<Alone>(b"plain", usize::MAX) {
        Err(e @ Error::Untagged { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("\"test.registry.Alone\""), "{msg}");
            assert!(msg.contains("as a plain value"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}
