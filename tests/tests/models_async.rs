//! The model API on `AsyncSession`: the same operations as `models.rs`, async.
#![allow(clippy::unwrap_used)]

mod model_types;

use std::time::Duration;

use kvdb::model::{key_of, model_key};
use kvdb::{AsyncSession, Compression, Error, Serializer};
use kvdb_tests::{options, session, unique};
use model_types::*;

fn json() -> AsyncSession {
    session(options("models-async").serializer(Serializer::Json))
        .0
        .aio()
}

fn fresh_id() -> u64 {
    model_types::fresh_id(2000000)
}

#[tokio::test]
async fn set_get_exists_delete() {
    let s = json();
    let id = fresh_id();
    assert_eq!(s.get_model::<User>(&id).await.unwrap(), None);
    s.set_model(&user(id)).await.unwrap();
    assert_eq!(s.get_model::<User>(&id).await.unwrap(), Some(user(id)));
    assert!(s.exists_model::<User>(&id).await.unwrap());
    assert!(s.delete_model::<User>(&id).await.unwrap());
    assert!(!s.exists_model::<User>(&id).await.unwrap());
    assert!(!s.delete_model::<User>(&id).await.unwrap());
}

#[tokio::test]
async fn ttls_batches_and_composite_keys() {
    let s = json();
    let login = Login {
        token: unique("tok"),
        user: 9,
    };
    s.set_model(&login).await.unwrap();
    let key = model_key(&login).unwrap();
    assert!(pttl(&key) > 5_000_000);
    s.set_model_ex(&login, Duration::from_secs(30))
        .await
        .unwrap();
    assert!((25_000..=30_000).contains(&pttl(&key)));

    let org = unique("org");
    let members: Vec<Member> = (0..4)
        .map(|id| Member {
            org: org.clone(),
            id,
            role: format!("r{id}"),
        })
        .collect();
    s.set_models(&members).await.unwrap();
    let keys: Vec<(String, u32)> = (0..5).map(|id| (org.clone(), id)).collect();
    let found = s.get_models::<Member>(&keys).await.unwrap();
    assert_eq!(
        found[..4],
        members.iter().cloned().map(Some).collect::<Vec<_>>()[..]
    );
    assert_eq!(found[4], None);
    assert!(
        s.get_models::<Member>(&[] as &[(String, u32)])
            .await
            .unwrap()
            .is_empty()
    );
    s.set_models::<Member>(&[]).await.unwrap();
}

#[tokio::test]
async fn mismatch_and_get_any() {
    let s = json();
    let id = fresh_id();
    s.set_model(&Impostor {
        id,
        name: "i".into(),
    })
    .await
    .unwrap();
    match s.get_model::<User>(&id).await {
        Err(Error::TypeMismatch {
            expected, found, ..
        }) => assert_eq!(
            (expected.as_str(), found.as_str()),
            ("it.User", "it.Impostor")
        ),
        other => panic!("{other:?}"),
    }
    let any = s.get_any(&format!("it:users:{id}")).await.unwrap().unwrap();
    assert_eq!(any.tag(), "it.Impostor");
    assert_eq!(any.downcast::<Impostor>().unwrap().name, "i");
    s.set_model(&Shape::Square(3.0)).await.unwrap();
    let any = s
        .get_any(&key_of::<Shape>(&()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(any.downcast_ref::<Shape>(), Some(&Shape::Square(3.0)));
    assert!(s.get_any(&unique("nothing")).await.unwrap().is_none());
}

#[tokio::test]
async fn scan_models_reads_every_model() {
    clear("it:scan:async*");
    let s = json();
    let models: Vec<ScanAsync> = (0..300).map(|id| ScanAsync { id }).collect();
    s.set_models(&models).await.unwrap();
    s.blocking()
        .set("it:scan:async:1:2", "other shape")
        .unwrap();
    let mut ids: Vec<u32> = Vec::new();
    let mut models = s.scan_models::<ScanAsync>().unwrap();
    // `kvdb::StreamExt` is all a caller needs; the stream is `Unpin`, no pinning.
    while let Some(m) = kvdb::StreamExt::next(&mut models).await {
        ids.push(m.unwrap().id);
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..300).collect::<Vec<_>>());
    // A value of the right shape that is not a ScanAsync is an error item, and the stream
    // goes on to yield every model, as the sync iterator does.
    s.blocking().set("it:scan:async:bad", "plain").unwrap();
    let items: Vec<kvdb::Result<ScanAsync>> =
        kvdb::StreamExt::collect(s.scan_models::<ScanAsync>().unwrap()).await;
    assert_eq!(items.len(), 301, "every model and the one bad value");
    let errors: Vec<&kvdb::Error> = items.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].key(), Some("it:scan:async:bad"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_from_tasks_lose_nothing() {
    let s = json();
    let name = unique("hits");
    s.set_model(&Counter {
        name: name.clone(),
        hits: 0,
    })
    .await
    .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (s, name) = (s.clone(), name.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    s.update_model::<Counter, _>(&name, |c| c.hits += 1)
                        .await
                        .unwrap()
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        s.get_model::<Counter>(&name).await.unwrap().unwrap().hits,
        400
    );
    assert_eq!(
        s.update_model::<Counter, _>(&unique("missing"), |c| c.hits += 1)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn serializers_and_compressions_round_trip() {
    for serializer in [Serializer::Json, Serializer::Cbor, Serializer::MsgPack] {
        for compression in [
            Compression::None,
            Compression::Zstd,
            Compression::Lz4,
            Compression::Gzip,
            Compression::Zlib,
        ] {
            let (s, _) = session(
                options("codecs-async")
                    .serializer(serializer)
                    .compression(compression)
                    .compression_min_size(0),
            );
            let s = s.aio();
            let doc = Doc::sample(fresh_id() as i64);
            s.set_model(&doc).await.unwrap();
            assert_eq!(
                s.get_model::<Doc>(&doc.id).await.unwrap().as_ref(),
                Some(&doc)
            );
            let updated = s
                .update_model::<Doc, _>(&doc.id, |d| d.body.push('!'))
                .await
                .unwrap()
                .unwrap();
            assert!(updated.body.ends_with('!'));
            assert_eq!(s.get_model::<Doc>(&doc.id).await.unwrap(), Some(updated));
        }
    }
}

#[tokio::test]
async fn models_need_a_serializer() {
    let (plain, _) = session(options("plain-async"));
    assert!(matches!(
        plain.aio().set_model(&user(fresh_id())).await,
        Err(Error::SerializerRequired { .. })
    ));
}
