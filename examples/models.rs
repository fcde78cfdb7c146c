//! Models: a small shop with users, orders under composite keys, carts that expire, a scan,
//! an optimistic update, a pipeline of models, a transaction over two keys, and `get_any`
//! over mixed types.
//!
//! Uses `KVDB_URL` if set; otherwise Redis on 127.0.0.1:6379 if one answers; otherwise starts
//! a throwaway `redis-server` for the run. Every key it writes starts with `shop:` and is
//! deleted at the end.
//!
//! ```text
//! cargo run -p kvdb-examples --example models
//! ```

use std::time::Duration;

use kvdb::model::{key_of, model_key};
use kvdb::testing::{TestServer, answers_ping};
use kvdb::{Compression, KVDBClient, KvModel, Serializer, SessionOptions};
use serde::{Deserialize, Serialize};

/// Stored at `shop:users:{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, KvModel)]
#[kv(tag = "shop.User", prefix = "shop:users")]
struct User {
    #[kv(key)]
    id: u64,
    name: String,
    email: String,
}

/// Stored at `shop:user:{42}:order:7`: a user's orders share one Redis Cluster slot.
#[derive(Debug, Clone, Serialize, Deserialize, KvModel)]
#[kv(
    tag = "shop.Order",
    key = "shop:user:{user_id}:order:{order_id}",
    hash_tag = "{user_id}"
)]
struct Order {
    user_id: u64,
    order_id: u32,
    items: Vec<String>,
    total_cents: u64,
}

/// Abandoned carts expire after 30 minutes.
#[derive(Debug, Clone, Serialize, Deserialize, KvModel)]
#[kv(tag = "shop.Cart", prefix = "shop:carts", ttl = "30m")]
struct Cart {
    #[kv(key)]
    user_id: u64,
    items: Vec<String>,
}

/// The server to use, and the child process if this run started one.
fn server() -> Result<(String, Option<TestServer>), Box<dyn std::error::Error>> {
    if let Ok(url) = std::env::var("KVDB_URL") {
        return Ok((url, None));
    }
    if answers_ping(6379, Duration::from_millis(300)) {
        return Ok(("redis://127.0.0.1:6379/0".into(), None));
    }
    println!("no Redis at 127.0.0.1:6379: starting a throwaway redis-server");
    let server = TestServer::start()?;
    Ok((server.url(), Some(server)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = server()?;
    let shop = KVDBClient::get_session(
        SessionOptions::new("models-example")
            .url(&url)
            .serializer(Serializer::Json)
            .compression(Compression::Zstd),
    )?;
    // Two model types with one tag would make reads by tag ambiguous: find out now.
    kvdb::registry::check()?;
    println!("connected to {}", shop.url());

    let users = vec![
        User {
            id: 1,
            name: "Ada".into(),
            email: "ada@example.com".into(),
        },
        User {
            id: 2,
            name: "Grace".into(),
            email: "grace@example.com".into(),
        },
    ];
    shop.set_models(&users)?;
    println!(
        "stored {} users in one round trip, e.g. at {:?}",
        users.len(),
        model_key(&users[0])?
    );

    let orders = vec![
        Order {
            user_id: 1,
            order_id: 1,
            items: vec!["notebook".into()],
            total_cents: 1_200,
        },
        Order {
            user_id: 1,
            order_id: 2,
            items: vec!["pen".into(), "ink".into()],
            total_cents: 850,
        },
        Order {
            user_id: 2,
            order_id: 1,
            items: vec!["compiler".into()],
            total_cents: 9_900,
        },
    ];
    shop.set_models(&orders)?;
    let order = shop.get_model::<Order>(&(1, 2))?;
    println!("order (1, 2) at {:?}: {order:?}", key_of::<Order>(&(1, 2))?);

    shop.set_model(&Cart {
        user_id: 2,
        items: vec!["keyboard".into()],
    })?;
    println!(
        "cart of user 2 stored with the model's TTL of {:?}",
        Cart::TTL.unwrap_or_default()
    );
    let cart = shop.update_model::<Cart, _>(&2, |c| c.items.push("mouse".into()))?;
    println!("updated cart (WATCH/MULTI/EXEC, TTL kept): {cart:?}");

    // Several models in one round trip, atomically; each result typed by its handle.
    let mut p = shop.pipeline().atomic();
    let saved = p.set_model(&Cart {
        user_id: 1,
        items: vec!["lamp".into()],
    });
    let cart_1 = p.get_model::<Cart>(&1);
    let has_cart_3 = p.exists_model::<Cart>(&3);
    let mut results = shop.execute(p)?;
    results.take(saved)?;
    println!(
        "pipeline: cart 1 = {:?}, cart 3 exists: {}",
        results.take(cart_1)?,
        results.take(has_cart_3)?
    );

    // Move the mouse from cart 2 to cart 1, only if cart 2 still has it: WATCH both carts,
    // read, queue the writes, EXEC (re-run if another client changed a cart meanwhile).
    let carts = [key_of::<Cart>(&1)?, key_of::<Cart>(&2)?];
    let moved = shop.transaction(&[&carts[0], &carts[1]], |tx| {
        let (Some(mut to), Some(mut from)) = (tx.get_model::<Cart>(&1)?, tx.get_model::<Cart>(&2)?)
        else {
            return Ok(false);
        };
        let Some(at) = from.items.iter().position(|i| i == "mouse") else {
            return Ok(false);
        };
        to.items.push(from.items.remove(at));
        tx.set_model(&to).set_model(&from);
        Ok::<_, kvdb::Error>(true)
    })?;
    println!("transaction: mouse moved to cart 1: {moved}");

    let mut revenue = 0;
    let mut count = 0;
    for order in shop.scan_models::<Order>()? {
        let order = order?;
        revenue += order.total_cents;
        count += 1;
    }
    println!(
        "scanned {count} orders, revenue {}.{:02}",
        revenue / 100,
        revenue % 100
    );

    let keys = [
        model_key(&users[0])?,
        key_of::<Order>(&(2, 1))?,
        key_of::<Cart>(&2)?,
    ];
    for key in &keys {
        match shop.get_any(key)? {
            Some(m) if m.is::<User>() => println!("{key}: a user: {m:?}"),
            Some(m) => match m.downcast::<Order>() {
                Ok(order) => println!("{key}: an order of {} item(s)", order.items.len()),
                Err(other) => println!("{key}: a {} ({})", other.tag(), other.type_name()),
            },
            None => println!("{key}: nothing there"),
        }
    }

    for u in &users {
        shop.delete_model::<User>(&u.id)?;
    }
    for o in &orders {
        shop.delete_model::<Order>(&(o.user_id, o.order_id))?;
    }
    shop.delete_model::<Cart>(&1)?;
    shop.delete_model::<Cart>(&2)?;
    println!("cleaned up; done");
    Ok(())
}
