use proptest::prelude::*;

use super::*;

const USER: KeySchema = KeySchema::new(&[Segment::Lit("users"), Segment::Part]);
const MEMBER: KeySchema = KeySchema::new(&[
    Segment::Lit("org"),
    Segment::HashTagged,
    Segment::Lit("user"),
    Segment::Part,
]);
const PAIR: KeySchema = KeySchema::new(&[Segment::Lit("app:pairs"), Segment::Part, Segment::Part]);
const SINGLETON: KeySchema = KeySchema::new(&[Segment::Lit("config:app")]);

/// Redis's glob matching (`stringmatchlen`), enough of it for the patterns kvdb writes:
/// `*`, `?`, `[...]` and `\` escapes.
fn glob(pattern: &[char], s: &[char]) -> bool {
    match pattern.split_first() {
        None => s.is_empty(),
        Some(('*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some(('?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some(('\\', rest)) => match rest.split_first() {
            Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
            None => s.first() == Some(&'\\') && glob(rest, &s[1..]),
        },
        Some(('[', rest)) => {
            let Some(close) = rest.iter().position(|&c| c == ']') else {
                return false;
            };
            !s.is_empty() && rest[..close].contains(&s[0]) && glob(&rest[close + 1..], &s[1..])
        }
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

fn glob_str(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    glob(&p, &s)
}

#[test]
fn escapes_the_separator_braces_and_the_escape_char() {
    assert_eq!(escape_part("plain text ünï*"), "plain text ünï*");
    assert_eq!(escape_part("a:b"), "a%3Ab");
    assert_eq!(escape_part("{x}"), "%7Bx%7D");
    assert_eq!(escape_part("100%"), "100%25");
    assert_eq!(escape_part("%3A"), "%253A");
    assert_eq!(unescape_part("%253A").as_deref(), Some("%3A"));
    for bad in ["a:b", "{", "}", "%", "%4", "%41", "%3a"] {
        assert_eq!(unescape_part(bad), None, "{bad}");
    }
}

#[test]
fn formats_prefix_template_and_hash_tagged_keys() {
    assert_eq!(USER.format(&[&42u64]).unwrap(), "users:42");
    assert_eq!(USER.format(&[&"a:b"]).unwrap(), "users:a%3Ab");
    assert_eq!(
        MEMBER.format(&[&"acme", &7i32]).unwrap(),
        "org:{acme}:user:7"
    );
    assert_eq!(
        MEMBER.format(&[&"{evil}", &-1i64]).unwrap(),
        "org:{%7Bevil%7D}:user:-1"
    );
    assert_eq!(PAIR.format(&[&true, &'x']).unwrap(), "app:pairs:true:x");
    assert_eq!(SINGLETON.format(&[]).unwrap(), "config:app");
    assert_eq!(
        USER.format(&[&String::from("s"), &1u8])
            .unwrap_err()
            .to_string(),
        "unsupported operation: the key schema \"users:*\" has 1 key parts, 2 were given"
    );
}

#[test]
fn pointer_and_string_types_are_key_parts() {
    let parts: [&dyn KeyPart; 5] = [
        &Box::<str>::from("a"),
        &Arc::<str>::from("b"),
        &Rc::new(3u16),
        &Cow::Borrowed("c"),
        &&"d",
    ];
    let schema = KeySchema::new(&[
        Segment::Part,
        Segment::Part,
        Segment::Part,
        Segment::Part,
        Segment::Part,
    ]);
    assert_eq!(schema.format(&parts).unwrap(), "a:b:3:c:d");
}

#[test]
fn patterns_escape_fixed_text() {
    assert_eq!(USER.pattern(), "users:*");
    assert_eq!(MEMBER.pattern(), "org:{*}:user:*");
    const ODD: KeySchema = KeySchema::new(&[Segment::Lit("a*b[1]?\\"), Segment::Part]);
    assert_eq!(ODD.pattern(), "a\\*b\\[1\\]\\?\\\\:*");
    assert!(glob_str(&ODD.pattern(), "a*b[1]?\\:x"));
    assert!(!glob_str(&ODD.pattern(), "aXb[1]?\\:x"));
}

#[test]
fn matches_only_keys_of_the_same_shape() {
    assert!(USER.matches("users:42"));
    assert!(USER.matches("users:"));
    assert!(!USER.matches("users:4:2"));
    assert!(!USER.matches("users"));
    assert!(!USER.matches("usersX:1"));
    assert!(!USER.matches("users:{1}"));
    assert!(MEMBER.matches("org:{a%3Ab}:user:1"));
    assert!(!MEMBER.matches("org:a:user:1"));
    assert!(!MEMBER.matches("org:{a:b}:user:1"));
    assert!(!MEMBER.matches("org:{a}x:user:1"));
    assert!(SINGLETON.matches("config:app"));
    assert!(!SINGLETON.matches("config:app:1"));
    assert!(PAIR.matches("app:pairs:1:2"));
    assert!(!PAIR.matches("app:pairs:1"));
}

proptest! {
    #[test]
    fn unescape_inverts_escape(s in any::<String>()) {
        let e = escape_part(&s);
        let clean = !e.contains([':', '{', '}']);
        prop_assert!(clean, "{}", e);
        prop_assert_eq!(unescape_part(&e), Some(s));
    }

    #[test]
    fn distinct_parts_give_distinct_keys(
        a in ("[a-z:{}%*?\\\\ é]{0,6}", "[a-z:{}%3A7BD]{0,6}"),
        b in ("[a-z:{}%*?\\\\ é]{0,6}", "[a-z:{}%3A7BD]{0,6}"),
    ) {
        for schema in [MEMBER, PAIR] {
            let ka = schema.format(&[&a.0, &a.1]).unwrap();
            let kb = schema.format(&[&b.0, &b.1]).unwrap();
            prop_assert_eq!(a == b, ka == kb, "{} / {}", ka, kb);
            prop_assert!(schema.matches(&ka));
            prop_assert!(glob_str(&schema.pattern(), &ka));
        }
    }

    #[test]
    fn distinct_arbitrary_parts_give_distinct_keys(a in any::<(String, String)>(), b in any::<(String, String)>()) {
        let ka = PAIR.format(&[&a.0, &a.1]).unwrap();
        let kb = PAIR.format(&[&b.0, &b.1]).unwrap();
        prop_assert_eq!(a == b, ka == kb);
    }

    #[test]
    fn glob_escaped_text_matches_only_itself(s in "[a-c*?\\[\\]\\\\]{0,8}", t in "[a-c*?\\[\\]\\\\]{0,8}") {
        let p = glob_escape(&s);
        prop_assert!(glob_str(&p, &s));
        prop_assert_eq!(glob_str(&p, &t), s == t);
    }

    #[test]
    fn hash_tag_is_exactly_the_tagged_part(org in any::<String>(), id in any::<u64>()) {
        let key = MEMBER.format(&[&org, &id]).unwrap();
        // Redis hashes the text between the first `{` and the first `}` after it.
        let open = key.find('{').unwrap();
        let close = open + key[open..].find('}').unwrap();
        prop_assert_eq!(&key[open + 1..close], escape_part(&org));
    }
}
