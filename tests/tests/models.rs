//! The model API on the blocking `Session` (its async twin is in `models_async.rs`).
#![allow(clippy::unwrap_used)]

mod model_types;

use std::time::Duration;

use kvdb::format::Encoder;
use kvdb::model::{key_of, model_key};
use kvdb::{Error, Serializer};
use kvdb_tests::{options, session, unique};
use model_types::*;

fn json() -> kvdb::Session {
    session(options("models").serializer(Serializer::Json)).0
}

fn fresh_id() -> u64 {
    model_types::fresh_id(1000000)
}

fn user(id: u64) -> User {
    User {
        id,
        name: format!("user {id}"),
        tags: vec!["a".into(), "b".into()],
    }
}

#[test]
fn set_get_exists_delete() {
    let s = json();
    let id = fresh_id();
    assert_eq!(s.get_model::<User>(&id).unwrap(), None);
    assert!(!s.exists_model::<User>(&id).unwrap());
    s.set_model(&user(id)).unwrap();
    assert_eq!(s.get_model::<User>(&id).unwrap(), Some(user(id)));
    assert!(s.exists_model::<User>(&id).unwrap());
    // The stored bytes carry the tag (version 1 is implied).
    let bytes = raw_get(&format!("it:users:{id}")).unwrap();
    assert!(bytes.starts_with(b"kv1j-it.User|{"), "{bytes:?}");
    assert!(s.delete_model::<User>(&id).unwrap());
    assert!(!s.delete_model::<User>(&id).unwrap());
    assert_eq!(s.get_model::<User>(&id).unwrap(), None);
}

#[test]
fn composite_template_tuple_and_singleton_keys() {
    let s = json();
    let org = unique("acme");
    let m = Member {
        org: org.clone(),
        id: 7,
        role: "admin".into(),
    };
    s.set_model(&m).unwrap();
    let key = (org.clone(), 7);
    assert_eq!(
        key_of::<Member>(&key).unwrap(),
        format!("it:org:{{{org}}}:member:7")
    );
    assert_eq!(s.get_model::<Member>(&key).unwrap(), Some(m));
    assert_eq!(s.get_model::<Member>(&(org, 8)).unwrap(), None);

    let shape = Shape::Circle { r: 1.5 };
    s.set_model(&shape).unwrap();
    assert_eq!(s.get_model::<Shape>(&()).unwrap(), Some(shape));
    s.set_model(&Shape::Square(2.0)).unwrap();
    assert_eq!(s.get_model::<Shape>(&()).unwrap(), Some(Shape::Square(2.0)));

    s.set_model(&Flag('é', true)).unwrap();
    assert_eq!(s.get_model::<Flag>(&'é').unwrap(), Some(Flag('é', true)));
    assert!(raw_get("it:flags:é").is_some());
}

#[test]
fn default_and_explicit_ttls() {
    let s = json();
    let token = unique("tok");
    let login = Login {
        token: token.clone(),
        user: 1,
    };
    s.set_model(&login).unwrap();
    let key = model_key(&login).unwrap();
    let ttl = pttl(&key);
    assert!((5_390_000..=5_400_000).contains(&ttl), "{ttl}");
    s.set_model_ex(&login, Duration::from_millis(2500)).unwrap();
    let ttl = pttl(&key);
    assert!((2_000..=2_500).contains(&ttl), "{ttl}");
    // A model without a default TTL is stored without one.
    let id = fresh_id();
    s.set_model(&user(id)).unwrap();
    assert_eq!(pttl(&format!("it:users:{id}")), -1);
    match s.set_model_ex(&login, Duration::from_micros(10)) {
        Err(Error::InvalidTtl { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn get_models_and_set_models_in_one_round_trip() {
    let s = json();
    let ids: Vec<u64> = (0..5).map(|_| fresh_id()).collect();
    let users: Vec<User> = ids[..3].iter().map(|&id| user(id)).collect();
    s.set_models(&users).unwrap();
    s.set_models::<User>(&[]).unwrap();
    let found = s.get_models::<User>(&ids).unwrap();
    assert_eq!(found.len(), 5);
    assert_eq!(
        found[..3],
        users.iter().cloned().map(Some).collect::<Vec<_>>()[..]
    );
    assert_eq!(found[3..], [None, None]);
    assert!(s.get_models::<User>(&[] as &[u64]).unwrap().is_empty());
    // TTLs are honoured in batches.
    let logins: Vec<Login> = (0..3)
        .map(|i| Login {
            token: unique("batch"),
            user: i,
        })
        .collect();
    s.set_models(&logins).unwrap();
    for l in &logins {
        assert!(pttl(&model_key(l).unwrap()) > 5_000_000);
    }
    // One value of another type fails the whole read, naming its key.
    s.set_model(&Impostor {
        id: ids[4],
        name: "x".into(),
    })
    .unwrap();
    let err = s.get_models::<User>(&ids).unwrap_err();
    assert!(matches!(err, Error::TypeMismatch { .. }), "{err}");
    assert_eq!(err.key(), Some(format!("it:users:{}", ids[4]).as_str()));
}

#[test]
fn tag_mismatch_names_key_expected_and_found() {
    let s = json();
    let id = fresh_id();
    s.set_model(&user(id)).unwrap();
    match s.get_model::<Impostor>(&id) {
        Err(Error::TypeMismatch {
            key,
            expected,
            found,
        }) => {
            assert_eq!(key.key(), Some(format!("it:users:{id}").as_str()));
            assert_eq!(
                (expected.as_str(), found.as_str()),
                ("it.Impostor", "it.User")
            );
        }
        other => panic!("{other:?}"),
    }
    // A plain value, or a serialized value without a tag, is no model.
    s.set(&format!("it:users:{id}"), "just text").unwrap();
    match s.get_model::<User>(&id) {
        Err(Error::Untagged { stored, .. }) => assert!(stored.contains("plain"), "{stored}"),
        other => panic!("{other:?}"),
    }
    s.set(&format!("it:users:{id}"), &vec![1, 2]).unwrap();
    assert!(matches!(
        s.get_model::<User>(&id),
        Err(Error::Untagged { .. })
    ));
}

#[test]
fn get_any_rebuilds_each_type_from_its_tag() {
    let s = json();
    let id = fresh_id();
    let org = unique("org");
    s.set_model(&user(id)).unwrap();
    let member = Member {
        org: org.clone(),
        id: 1,
        role: "dev".into(),
    };
    s.set_model(&member).unwrap();
    s.set_model(&Counter {
        name: org.clone(),
        hits: 3,
    })
    .unwrap();
    let any = s.get_any(&format!("it:users:{id}")).unwrap().unwrap();
    assert_eq!(any.tag(), "it.User");
    assert!(any.is::<User>() && !any.is::<Member>());
    assert_eq!(
        format!("{any:?}"),
        format!(
            r#"AnyModel {{ tag: "it.User", value: {{"id":{id},"name":"user {id}","tags":["a","b"]}} }}"#
        )
    );
    assert_eq!(any.downcast::<User>().unwrap(), user(id));
    let any = s
        .get_any(&key_of::<Member>(&(org.clone(), 1)).unwrap())
        .unwrap()
        .unwrap();
    let any = any.downcast::<User>().unwrap_err();
    assert_eq!(any.downcast_ref::<Member>(), Some(&member));
    let any = s.get_any(&format!("it:counters:{org}")).unwrap().unwrap();
    assert_eq!(any.downcast_ref::<Counter>().map(|c| c.hits), Some(3));
    assert!(s.get_any(&unique("it:none")).unwrap().is_none());

    // An unregistered tag, and a value that is no model.
    let mut bytes = Vec::new();
    Encoder::new(Serializer::Json)
        .encode_into(&1, Some(("nobody.Knows", 1)), &mut bytes)
        .unwrap();
    let key = unique("it:unknown");
    raw_set(&key, &bytes);
    match s.get_any(&key) {
        Err(Error::UnknownTag { tag, key: at }) => {
            assert_eq!(tag, "nobody.Knows");
            assert_eq!(at.key(), Some(key.as_str()));
        }
        other => panic!("{other:?}"),
    }
    s.set(&key, "plain").unwrap();
    assert!(matches!(s.get_any(&key), Err(Error::Untagged { .. })));
    kvdb::registry::check().unwrap();
}

#[test]
fn key_parts_are_escaped_and_never_collide() {
    let s = json();
    let run = unique("esc");
    let parts = [
        "a:b",
        "a",
        "b:c",
        "*",
        "?",
        "[x]",
        "{tag}",
        "}{",
        "with space",
        "ünïcødé ✓",
        "%3A",
        "",
        "\\",
    ];
    // The last model written for each (a, b).
    let mut stored = std::collections::HashMap::new();
    for (i, a) in parts.iter().enumerate() {
        for b in [parts[(i + 1) % parts.len()], ""] {
            let pair = Pair {
                a: format!("{run}{a}"),
                b: b.to_string(),
                n: i as i32,
            };
            s.set_model(&pair).unwrap();
            stored.insert((pair.a.clone(), pair.b.clone()), pair);
        }
    }
    // ("X" + "x:y", "z") and ("X" + "x", "y:z") would collide without escaping.
    let tricky = [
        Pair {
            a: format!("{run}x:y"),
            b: "z".into(),
            n: -1,
        },
        Pair {
            a: format!("{run}x"),
            b: "y:z".into(),
            n: -2,
        },
    ];
    s.set_models(&tricky).unwrap();
    for p in tricky {
        stored.insert((p.a.clone(), p.b.clone()), p);
    }
    for (key, p) in &stored {
        assert_eq!(
            s.get_model::<Pair>(key).unwrap().as_ref(),
            Some(p),
            "{key:?}"
        );
        let raw_key = key_of::<Pair>(key).unwrap();
        assert_eq!(raw_key.matches(':').count(), 3, "{raw_key}");
        assert!(!raw_key.contains(['{', '}']), "{raw_key}");
    }
    let mine: Vec<Pair> = s
        .scan_models::<Pair>()
        .unwrap()
        .map(Result::unwrap)
        .filter(|p| p.a.starts_with(&run))
        .collect();
    assert_eq!(mine.len(), stored.len());
}

#[test]
fn scan_models_reads_every_model_of_the_type_only() {
    clear("it:scan:sync*");
    let s = json();
    let models: Vec<ScanSync> = (0..600).map(|id| ScanSync { id }).collect();
    s.set_models(&models).unwrap();
    // Same prefix, other shapes: not this model's keys, skipped.
    s.set("it:scan:sync:1:extra", "x").unwrap();
    s.set("it:scan:syncx:1", "x").unwrap();
    let mut ids: Vec<u32> = s
        .scan_models::<ScanSync>()
        .unwrap()
        .map(|m| m.unwrap().id)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..600).collect::<Vec<_>>());
    // A value of the right shape that is not a ScanSync is an error item; the scan goes on.
    s.set("it:scan:sync:bad", "plain").unwrap();
    let items: Vec<_> = s.scan_models::<ScanSync>().unwrap().collect();
    assert_eq!(items.len(), 601);
    let errors: Vec<_> = items.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key(), Some("it:scan:sync:bad"));
}

#[test]
fn concurrent_updates_lose_nothing() {
    let s = json();
    let name = unique("hits");
    s.set_model(&Counter {
        name: name.clone(),
        hits: 0,
    })
    .unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..50 {
                    let c = s
                        .update_model::<Counter, _>(&name, |c| c.hits += 1)
                        .unwrap();
                    assert!(c.is_some());
                }
            });
        }
    });
    assert_eq!(s.get_model::<Counter>(&name).unwrap().unwrap().hits, 400);
}

#[test]
fn update_model_edge_cases() {
    let s = json();
    let name = unique("upd");
    // Missing: nothing stored.
    let mut calls = 0;
    assert_eq!(
        s.update_model::<Counter, _>(&name, |_| calls += 1).unwrap(),
        None
    );
    assert_eq!(calls, 0);
    assert!(!s.exists_model::<Counter>(&name).unwrap());
    // The TTL is kept.
    let login = Login {
        token: name.clone(),
        user: 1,
    };
    s.set_model(&login).unwrap();
    let updated = s
        .update_model::<Login, _>(&name, |l| l.user = 2)
        .unwrap()
        .unwrap();
    assert_eq!(updated.user, 2);
    assert!(pttl(&model_key(&login).unwrap()) > 5_000_000);
    // Changing the key fields is refused, and the connection is left clean.
    let err = s
        .update_model::<Login, _>(&name, |l| l.token.push('!'))
        .unwrap_err();
    assert!(err.to_string().contains("key fields"), "{err}");
    for _ in 0..20 {
        s.update_model::<Login, _>(&name, |l| l.user += 1).unwrap();
    }
    assert_eq!(s.get_model::<Login>(&name).unwrap().unwrap().user, 22);
    // Another type at the key: a mismatch, nothing written.
    let id = fresh_id();
    s.set_model(&Impostor {
        id,
        name: "i".into(),
    })
    .unwrap();
    assert!(matches!(
        s.update_model::<User, _>(&id, |u| u.name.clear()),
        Err(Error::TypeMismatch { .. })
    ));
}
