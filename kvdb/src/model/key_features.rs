//! Key parts for the id and date types of other crates, each behind the cargo feature of the
//! crate's name (nothing is compiled, and no dependency added, when it is off):
//!
//! | feature | type | key part |
//! |---|---|---|
//! | `uuid` | `uuid::Uuid` | hyphenated, lowercase: `67e55044-10b1-426f-9247-bb680e5fe0c8` |
//! | `ulid` | `ulid::Ulid` | its canonical 26 characters: `01ARZ3NDEKTSV4RRFFQ69G5FAV` |
//! | `chrono` | `chrono::NaiveDate` | ISO 8601: `2024-05-31` |
//! | `time` | `time::Date` | ISO 8601: `2024-05-31` |
//!
//! Date-times are not key parts: a key must be one canonical text, and a timestamp has many
//! (offsets, precision). Store the date, or a newtype over the timestamp with the text you
//! chose (see [`KeyPart`]).

#[cfg(feature = "chrono")]
use std::fmt::Write as _;

#[allow(unused_imports)] // unused when every feature is off
use super::key::{KeyPart, PartWriter};

#[cfg(feature = "uuid")]
impl KeyPart for uuid::Uuid {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        out.push_str(self.hyphenated().encode_lower(&mut buf));
    }
}

#[cfg(feature = "ulid")]
impl KeyPart for ulid::Ulid {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        let mut buf = [0u8; ulid::ULID_LEN];
        out.push_str(self.array_to_str(&mut buf));
    }
}

#[cfg(feature = "chrono")]
impl KeyPart for chrono::NaiveDate {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        // ISO 8601 (`2024-05-31`; a sign and 4+ digits outside years 0 to 9999). `PartWriter`'s
        // `fmt::Write` never fails.
        let _ = write!(out, "{self}");
    }
}

#[cfg(feature = "time")]
impl KeyPart for time::Date {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        // ISO 8601, written as chrono writes it: a sign and 4+ digits outside years 0 to 9999.
        let year = self.year();
        if !(0..=9999).contains(&year) {
            out.push(if year < 0 { '-' } else { '+' });
        }
        push_padded(out, year.unsigned_abs(), 4);
        out.push('-');
        push_padded(out, u32::from(u8::from(self.month())), 2);
        out.push('-');
        push_padded(out, u32::from(self.day()), 2);
    }
}

/// `n` in decimal, left-padded with zeros to `width` digits.
#[cfg(feature = "time")]
fn push_padded(out: &mut PartWriter<'_>, n: u32, width: usize) {
    let digits = n.to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use crate::model::{KeySchema, Segment};

    #[allow(dead_code)]
    const SCHEMA: KeySchema = KeySchema::new(&[Segment::Lit("k"), Segment::Part]);

    #[cfg(feature = "uuid")]
    #[test]
    fn uuid_is_hyphenated_lowercase() {
        let id = uuid::Uuid::from_u128(0x67E5_5044_10B1_426F_9247_BB68_0E5F_E0C8);
        assert_eq!(
            SCHEMA.format(&[&id]).unwrap(),
            "k:67e55044-10b1-426f-9247-bb680e5fe0c8"
        );
    }

    #[cfg(feature = "ulid")]
    #[test]
    fn ulid_is_its_canonical_text() {
        let text = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        let id = ulid::Ulid::from_string(text).unwrap();
        assert_eq!(SCHEMA.format(&[&id]).unwrap(), format!("k:{text}"));
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn chrono_date_is_iso_8601() {
        let d = chrono::NaiveDate::from_ymd_opt(2024, 5, 31).unwrap();
        assert_eq!(SCHEMA.format(&[&d]).unwrap(), "k:2024-05-31");
        let early = chrono::NaiveDate::from_ymd_opt(7, 1, 2).unwrap();
        assert_eq!(SCHEMA.format(&[&early]).unwrap(), "k:0007-01-02");
    }

    #[cfg(feature = "time")]
    #[test]
    fn time_date_is_iso_8601() {
        let d = time::Date::from_calendar_date(2024, time::Month::May, 31).unwrap();
        assert_eq!(SCHEMA.format(&[&d]).unwrap(), "k:2024-05-31");
        let early = time::Date::from_calendar_date(7, time::Month::January, 2).unwrap();
        assert_eq!(SCHEMA.format(&[&early]).unwrap(), "k:0007-01-02");
    }

    #[cfg(all(feature = "chrono", feature = "time"))]
    #[test]
    fn chrono_and_time_dates_write_the_same_key() {
        for (y, m, d) in [(1, 1, 1), (1999, 12, 31), (2024, 2, 29), (9999, 12, 31)] {
            let c = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let t =
                time::Date::from_calendar_date(y, time::Month::try_from(m as u8).unwrap(), d as u8)
                    .unwrap();
            assert_eq!(SCHEMA.format(&[&c]).unwrap(), SCHEMA.format(&[&t]).unwrap());
        }
    }
}
