//! Keys as callers hold them: a `&str` for a `String` key, a tuple of borrowed parts for a
//! composite key, in every model method, the pipeline and transactions, sync and async.
#![deny(warnings)]

use kvdb::model::key_of;
use kvdb::{AsyncSession, KvModel, Session};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "users")]
struct User {
    #[kv(key)]
    email: String,
}

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "member:{user}:org:{org}")]
struct Membership {
    user: u64,
    org: String,
    role: String,
}

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "config:app")]
struct Config {
    debug: bool,
}

#[derive(Debug)]
enum AppError {
    Store(kvdb::Error),
}

impl From<kvdb::Error> for AppError {
    fn from(e: kvdb::Error) -> Self {
        AppError::Store(e)
    }
}

fn sync(s: &Session, email: &str, org: &String) -> kvdb::Result<()> {
    let owned = String::from("c@d.com");
    let _: Option<User> = s.get_model::<User>("a@b.com")?;
    let _: Option<User> = s.get_model::<User>(email)?;
    let _: Option<User> = s.get_model::<User>(&owned)?;
    let _: Option<Membership> = s.get_model::<Membership>(&(7, "acme"))?;
    let _: Option<Membership> = s.get_model::<Membership>(&(7u64, org))?;
    let _: Option<Membership> = s.get_model::<Membership>(&(7, org.clone()))?;
    let _: Option<Config> = s.get_model::<Config>(&())?;
    let _: bool = s.exists_model::<User>("a@b.com")?;
    let _: bool = s.delete_model::<Membership>(&(7, "acme"))?;
    let _: Vec<Option<User>> = s.get_models::<User>(&["a@b.com", email])?;
    let _: Vec<Option<Membership>> = s.get_models::<Membership>(&[(7, "acme"), (8, "acme")])?;
    let _: Option<User> = s.update_model::<User, _>("a@b.com", |_| {})?;
    let _: Result<Option<User>, AppError> =
        s.try_update_model::<User, _, AppError>("a@b.com", |_| Ok(()));
    let _: String = key_of::<Membership>(&(7, "acme"))?;

    let mut p = s.pipeline();
    let _: kvdb::Handle<Option<User>> = p.get_model::<User>("a@b.com");
    let _: kvdb::Handle<bool> = p.exists_model::<Membership>(&(7, "acme"));
    let _: kvdb::Handle<bool> = p.delete_model::<User>(email);
    let _ = s.execute(p)?;

    s.transaction(&["k"], |tx| {
        let _: Option<Membership> = tx.get_model::<Membership>(&(7, "acme"))?;
        tx.delete_model::<User>("a@b.com");
        Ok::<_, kvdb::Error>(())
    })?;
    Ok(())
}

async fn aio(s: &AsyncSession, email: &str) -> kvdb::Result<()> {
    let _: Option<User> = s.get_model::<User>("a@b.com").await?;
    let _: Option<Membership> = s.get_model::<Membership>(&(7, "acme")).await?;
    let _: Vec<Option<User>> = s.get_models::<User>(&[email]).await?;
    let mut p = s.pipeline();
    let _: kvdb::Handle<Option<User>> = p.get_model::<User>(email);
    let _ = s.execute(p).await?;
    s.transaction(&["k"], |tx| {
        Box::pin(async move {
            let _: Option<User> = tx.get_model::<User>("a@b.com").await?;
            tx.delete_model::<Membership>(&(7, "acme"));
            Ok::<_, kvdb::Error>(())
        })
    })
    .await?;
    Ok(())
}

fn main() {
    // Compile-only: no server is needed.
    let _ = sync;
    let _ = aio;
}
