//! Readable order numbers: prefix, Beijing date of the call, sequence of the day
//! (`YC20261125-000123`).

use chrono::NaiveDate;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderNumber {
    pub prefix: String,
    pub date: NaiveDate,
    pub seq: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an order number (like YC20261125-000123)")]
pub struct OrderNumberError(pub String);

impl OrderNumber {
    pub fn new(prefix: &str, date: NaiveDate, seq: u32) -> Self {
        OrderNumber {
            prefix: prefix.to_string(),
            date,
            seq,
        }
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}-{:06}",
            self.prefix,
            self.date.format("%Y%m%d"),
            self.seq
        )
    }
}

impl FromStr for OrderNumber {
    type Err = OrderNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || OrderNumberError(s.to_string());
        let (head, seq) = s.rsplit_once('-').ok_or_else(bad)?;
        if head.len() < 9 || seq.len() < 6 || !seq.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let (prefix, date) = head.split_at(head.len() - 8);
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(bad());
        }
        let date = NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| bad())?;
        Ok(OrderNumber {
            prefix: prefix.to_string(),
            date,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let n = OrderNumber::new("YC", NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(), 123);
        assert_eq!(n.to_string(), "YC20261125-000123");
        assert_eq!("YC20261125-000123".parse::<OrderNumber>(), Ok(n));
        for bad in [
            "",
            "YC2026-1",
            "yc20261125-000123",
            "YC20261325-000123",
            "20261125-000123",
            "YC20261125-12",
        ] {
            assert!(bad.parse::<OrderNumber>().is_err(), "{bad}");
        }
        // Sequences past a million still print and parse.
        let big = OrderNumber::new(
            "YC",
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            1_234_567,
        );
        assert_eq!(big.to_string().parse::<OrderNumber>(), Ok(big));
    }
}
