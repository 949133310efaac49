//! A one-pass reader for the few notification fields hookcli stores. It walks the body with
//! serde without building a tree (every other value is skipped), because it runs once per
//! request on the hot path; it keeps `serde_json::Value`'s semantics (a repeated key: the
//! last one wins).

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// The top-level fields of a notification, as far as hookcli reads them.
#[derive(Default)]
pub(super) struct Fields {
    /// `type`.
    pub(super) kind: Option<Scalar>,
    /// Whether a `topic` key is present at all.
    pub(super) has_topic: bool,
    pub(super) topic: Option<Scalar>,
    pub(super) id: Option<Scalar>,
    pub(super) app_id: Option<Scalar>,
    pub(super) created_at: Option<Scalar>,
    pub(super) first_sent_at: Option<Scalar>,
    pub(super) delivery_attempts: Option<Scalar>,
    /// `data.item.type` and `data.item.id`.
    pub(super) item: Option<Item>,
}

/// `data.item`'s fields.
#[derive(Default)]
pub(super) struct Item {
    pub(super) kind: Option<Scalar>,
    pub(super) id: Option<Scalar>,
}

/// A JSON value reduced to what the fields need: a string, a number, or anything else.
pub(super) enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Other,
}

impl Scalar {
    /// A string as is, a number as its JSON text.
    pub(super) fn text(self) -> Option<String> {
        match self {
            Scalar::Text(s) => Some(s),
            Scalar::Number(n) => Some(n.to_string()),
            Scalar::Other => None,
        }
    }

    /// An integer that fits in i64.
    pub(super) fn int(&self) -> Option<i64> {
        match self {
            Scalar::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// Whether this is the string `s`.
    pub(super) fn is(&self, s: &str) -> bool {
        matches!(self, Scalar::Text(t) if t == s)
    }
}

/// Read the fields from a body that is a JSON object; `None` for anything else (including
/// invalid JSON).
pub(super) fn fields(body: &[u8]) -> Option<Fields> {
    serde_json::from_slice::<Fields>(body).ok()
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut out = Fields::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => out.kind = Some(map.next_value()?),
                Key::Topic => {
                    out.has_topic = true;
                    out.topic = Some(map.next_value()?);
                }
                Key::Id => out.id = Some(map.next_value()?),
                Key::AppId => out.app_id = Some(map.next_value()?),
                Key::CreatedAt => out.created_at = Some(map.next_value()?),
                Key::FirstSentAt => out.first_sent_at = Some(map.next_value()?),
                Key::DeliveryAttempts => out.delivery_attempts = Some(map.next_value()?),
                Key::Data => out.item = map.next_value::<Data>()?.0,
                Key::Item | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// The keys of interest, matched without allocating.
enum Key {
    Type,
    Topic,
    Id,
    AppId,
    CreatedAt,
    FirstSentAt,
    DeliveryAttempts,
    Data,
    Item,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "type" => Key::Type,
            "topic" => Key::Topic,
            "id" => Key::Id,
            "app_id" => Key::AppId,
            "created_at" => Key::CreatedAt,
            "first_sent_at" => Key::FirstSentAt,
            "delivery_attempts" => Key::DeliveryAttempts,
            "data" => Key::Data,
            "item" => Key::Item,
            _ => Key::Other,
        })
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Taken as its raw text first, which serde_json only scans: read as a value, a
        // number past f64's range (1e400, valid JSON) would fail the whole body, and a
        // notification would lose its topic and id to one absurd field.
        let raw = <&'de serde_json::value::RawValue>::deserialize(d)?.get();
        Ok(match raw.as_bytes().first() {
            Some(b'"') => serde_json::from_str(raw).map_or(Scalar::Other, Scalar::Text),
            Some(b'-' | b'0'..=b'9') => {
                serde_json::from_str(raw).map_or(Scalar::Other, Scalar::Number)
            }
            _ => Scalar::Other,
        })
    }
}

/// Read a value with `visitor` when it is an object; anything else has no item. Taken as
/// its raw text first, as for [`Scalar`]: read as a value, a number past f64's range in
/// its place would fail the whole body.
fn if_object<'de, D, V>(d: D, visitor: V) -> Result<Option<Item>, D::Error>
where
    D: Deserializer<'de>,
    V: Visitor<'de, Value = Option<Item>>,
{
    let raw = <&'de serde_json::value::RawValue>::deserialize(d)?.get();
    if !raw.starts_with('{') {
        return Ok(None);
    }
    // The text is JSON already (serde_json scanned it): nothing in it can fail but what
    // the fields themselves take as Other.
    let mut inner = serde_json::Deserializer::from_str(raw);
    Ok(inner.deserialize_map(visitor).ok().flatten())
}

/// `data`: only its `item` matters; anything that is not an object has none.
struct Data(Option<Item>);

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if_object(d, DataVisitor).map(Data)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Option<Item>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut item = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Item => item = map.next_value::<ItemValue>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(item)
    }
}

/// `data.item`: its `type` and `id`, when it is an object.
struct ItemValue(Option<Item>);

impl<'de> Deserialize<'de> for ItemValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if_object(d, ItemVisitor).map(ItemValue)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Option<Item>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut item = Item::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => item.kind = Some(map.next_value()?),
                Key::Id => item.id = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(item))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Notification;
    use serde_json::Value;

    /// The reading `scan` replaces, written over a whole `Value` tree: the reference.
    fn through_a_tree(body: &[u8]) -> Option<Notification> {
        let value: Value = serde_json::from_slice(body).ok()?;
        let obj = value.as_object()?;
        let is_event = obj.get("type").and_then(Value::as_str) == Some("notification_event");
        if !is_event && !obj.contains_key("topic") {
            return None;
        }
        let text = |v: Option<&Value>| match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let item = obj.get("data").and_then(|d| d.get("item"));
        Some(Notification {
            topic: text(obj.get("topic")),
            id: text(obj.get("id")),
            app_id: text(obj.get("app_id")),
            created_at: obj.get("created_at").and_then(Value::as_i64),
            first_sent_at: obj.get("first_sent_at").and_then(Value::as_i64),
            delivery_attempts: obj.get("delivery_attempts").and_then(Value::as_i64),
            item_type: text(item.and_then(|i| i.get("type"))),
            item_id: text(item.and_then(|i| i.get("id"))),
        })
    }

    #[test]
    fn agrees_with_a_tree_on_every_fixture() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/intercom");
        let mut seen = 0;
        for source in std::fs::read_dir(dir).unwrap() {
            let source = source.unwrap().path();
            if !source.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(source).unwrap() {
                let body = std::fs::read(file.unwrap().path()).unwrap();
                assert_eq!(Notification::parse(&body), through_a_tree(&body));
                seen += 1;
            }
        }
        assert!(seen > 100, "fixtures missing: {seen}");
    }

    #[test]
    fn agrees_with_a_tree_on_odd_shapes() {
        let bodies: &[&[u8]] = &[
            br#"{"topic":"a","topic":"b","id":"x","id":null}"#,
            br#"{"topic":1.5,"id":18446744073709551615,"app_id":-3,"created_at":1e3}"#,
            br#"{"topic":"t","created_at":9223372036854775808,"first_sent_at":-1,"delivery_attempts":true}"#,
            br#"{"topic":"t","data":{"item":{"type":"a","id":7}},"data":"gone"}"#,
            br#"{"topic":"t","data":{"item":[1,2]}}"#,
            br#"{"topic":"t","data":{"item":{"type":{"x":1},"id":[1]},"item":{"id":"late"}}}"#,
            br#"{"type":"notification_event","topic":null,"data":[{"item":1}]}"#,
            br#"{"type":"notification_event"}"#,
            br#"{"type":"other","app_id":"a"}"#,
            br#"{"topic":"t\u00e9\n","id":"n\"q"}  "#,
            br#"{"topic":"t"} trailing"#,
            br#"{"topic":"t""#,
            b"[1,2]",
            b"\"topic\"",
            b"",
            b"\xff\xfe",
        ];
        for body in bodies {
            assert_eq!(
                Notification::parse(body),
                through_a_tree(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_number_past_f64_costs_only_its_own_field() {
        // Valid JSON that a tree (serde_json::Value) refuses as a whole.
        let body = br#"{"type":"notification_event","topic":"t.17","id":"notif_17","app_id":1e400,"created_at":-1e400,"data":{"item":{"type":"x","id":1e999,"n":1e400}}}"#;
        assert_eq!(through_a_tree(body), None);
        let n = Notification::parse(body).unwrap();
        assert_eq!(
            (n.topic.as_deref(), n.id.as_deref(), n.item_type.as_deref()),
            (Some("t.17"), Some("notif_17"), Some("x"))
        );
        assert_eq!((n.app_id, n.created_at, n.item_id), (None, None, None));
        // In data's or item's place too.
        for body in [
            &br#"{"topic":"t.x","id":"n1","data":1e400}"#[..],
            br#"{"topic":"t.x","id":"n1","data":{"item":-1e400,"x":[1e999]}}"#,
        ] {
            let n = Notification::parse(body).unwrap();
            assert_eq!(
                (n.topic.as_deref(), n.id.as_deref()),
                (Some("t.x"), Some("n1"))
            );
            assert_eq!(n.item_type, None);
        }
    }
}
