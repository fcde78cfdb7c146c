//! Which primary serves each slot (from `CLUSTER SLOTS`), and a split request's commands
//! grouped by that primary, so that the async transport sends one pipeline per node, all
//! nodes at once. Pure: no I/O.
//!
//! The table is only a guess of where to send: a node that no longer serves a slot answers
//! `MOVED`/`ASK`, and the transport then reads the table again and sends the failed nodes'
//! commands again by it, once; what still fails goes one command at a time through the
//! `redis` crate's cluster connection, which follows redirections itself.

use redis::{Cmd, Value};

use crate::slot::key_slot;

/// The primary of each slot range, as last read from `CLUSTER SLOTS`.
#[derive(Debug, Default)]
pub(crate) struct SlotTable {
    /// `(first slot, last slot, index in nodes)`, sorted by first slot.
    ranges: Vec<(u16, u16, usize)>,
    /// The primaries' addresses.
    nodes: Vec<(String, u16)>,
}

impl SlotTable {
    /// The table of a `CLUSTER SLOTS` reply (empty if it is not one).
    pub(crate) fn from_reply(reply: &Value) -> Self {
        let mut table = SlotTable::default();
        let Value::Array(ranges) = reply else {
            return table;
        };
        for range in ranges {
            let Value::Array(fields) = range else {
                continue;
            };
            let (Some(Value::Int(first)), Some(Value::Int(last)), Some(Value::Array(primary))) =
                (fields.first(), fields.get(1), fields.get(2))
            else {
                continue;
            };
            let host = match primary.first() {
                Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                Some(Value::SimpleString(s)) => s.clone(),
                _ => continue,
            };
            let (Some(Value::Int(port)), Ok(first), Ok(last)) =
                (primary.get(1), u16::try_from(*first), u16::try_from(*last))
            else {
                continue;
            };
            let Ok(port) = u16::try_from(*port) else {
                continue;
            };
            let node = match table.nodes.iter().position(|n| n.0 == host && n.1 == port) {
                Some(i) => i,
                None => {
                    table.nodes.push((host, port));
                    table.nodes.len() - 1
                }
            };
            table.ranges.push((first.min(last), last.max(first), node));
        }
        table.ranges.sort_unstable();
        table
    }

    /// Whether the table knows no slot.
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The index of the node serving `slot`, if the table knows it.
    pub(crate) fn owner(&self, slot: u16) -> Option<usize> {
        let i = self
            .ranges
            .partition_point(|r| r.0 <= slot)
            .checked_sub(1)?;
        let (_, last, node) = self.ranges[i];
        (slot <= last).then_some(node)
    }

    /// The address of node `i`.
    pub(crate) fn node(&self, i: usize) -> Option<&(String, u16)> {
        self.nodes.get(i)
    }

    /// The `indexes` of `cmds` grouped by the node serving each one's key, in the order given
    /// within a group; `None` if a command has no key or its slot's node is unknown.
    pub(crate) fn group(
        &self,
        cmds: &[Cmd],
        indexes: impl IntoIterator<Item = usize>,
    ) -> Option<Vec<(usize, Vec<usize>)>> {
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for i in indexes {
            let key = match cmds.get(i)?.args_iter().nth(1)? {
                redis::Arg::Simple(k) => k,
                _ => return None,
            };
            let node = self.owner(key_slot(key))?;
            match groups.iter_mut().find(|g| g.0 == node) {
                Some(g) => g.1.push(i),
                None => groups.push((node, vec![i])),
            }
        }
        Some(groups)
    }
}

/// Whether a reply in a node's pipeline says the command belongs elsewhere (or the slot is
/// not available there now): it must be sent again through the redirect-following path.
pub(crate) fn redirected(reply: &Value) -> bool {
    matches!(reply, Value::ServerError(e)
        if matches!(e.code(), "MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN" | "LOADING" | "MASTERDOWN"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"id".to_vec()),
        ])
    }

    fn range(first: i64, last: i64, primary: Value) -> Value {
        Value::Array(vec![Value::Int(first), Value::Int(last), primary])
    }

    fn get(key: &str) -> Cmd {
        let mut c = redis::cmd("GET");
        c.arg(key);
        c
    }

    fn table() -> SlotTable {
        SlotTable::from_reply(&Value::Array(vec![
            range(10923, 16383, node("127.0.0.1", 7002)),
            range(0, 5460, node("127.0.0.1", 7000)),
            range(5461, 10922, node("127.0.0.1", 7001)),
            Value::Int(3),
        ]))
    }

    #[test]
    fn owners_follow_the_ranges() {
        let t = table();
        let port = |slot| t.node(t.owner(slot).unwrap()).unwrap().1;
        assert_eq!(port(0), 7000);
        assert_eq!(port(5460), 7000);
        assert_eq!(port(5461), 7001);
        assert_eq!(port(10922), 7001);
        assert_eq!(port(10923), 7002);
        assert_eq!(port(16383), 7002);
        assert!(!t.is_empty());
        assert!(SlotTable::from_reply(&Value::Nil).is_empty());
        // A gap in the table: unknown.
        let gap = SlotTable::from_reply(&Value::Array(vec![range(0, 99, node("h", 1))]));
        assert_eq!(gap.owner(99), Some(0));
        assert_eq!(gap.owner(100), None);
    }

    #[test]
    fn commands_are_grouped_by_node_in_order() {
        let t = table();
        // "foo" is slot 12182 (7002), "bar" 5061 (7000), "{foo}x" with foo.
        let cmds = [get("foo"), get("bar"), get("{foo}x"), get("bar")];
        let groups = t.group(&cmds, 0..cmds.len()).unwrap();
        let by_port: Vec<(u16, Vec<usize>)> = groups
            .iter()
            .map(|(n, i)| (t.node(*n).unwrap().1, i.clone()))
            .collect();
        assert_eq!(by_port, [(7002, vec![0, 2]), (7000, vec![1, 3])]);
        // A keyless command, or a slot no node serves: no grouping.
        assert_eq!(
            t.group(&cmds, [3, 2]).unwrap(),
            [(1, vec![3]), (0, vec![2])]
        );
        assert!(t.group(&[get("foo"), redis::cmd("PING")], 0..2).is_none());
        let gap = SlotTable::from_reply(&Value::Array(vec![range(0, 99, node("h", 1))]));
        assert!(gap.group(&[get("foo")], [0]).is_none());
    }

    #[test]
    fn redirections_are_told_from_other_errors() {
        let err = |text: &str| redis::parse_redis_value(format!("-{text}\r\n").as_bytes()).unwrap();
        assert!(redirected(&err("MOVED 3999 127.0.0.1:6381")));
        assert!(redirected(&err("ASK 3999 127.0.0.1:6381")));
        assert!(redirected(&err("TRYAGAIN multiple keys")));
        assert!(!redirected(&err(
            "WRONGTYPE Operation against a key holding the wrong kind of value"
        )));
        assert!(!redirected(&Value::Nil));
    }
}
