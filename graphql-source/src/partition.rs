//! Splitting a full refresh into creation-time ranges that are read at once.
//!
//! Offset cursors chain one page to the next, so one read is one request after
//! another. A large stream is therefore cut into disjoint `createdAt` ranges
//! that together hold every row (one more for rows without a `createdAt`), and
//! each range is paged on its own: the host may send their requests together.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::time::{format_rfc3339_ms, parse_rfc3339_ms};

/// At most this many ranges per stream (plus the one for null `createdAt`).
const MAX_RANGES: u64 = 4;
/// A range should hold at least this many pages, so splitting pays for the
/// requests it adds.
const MIN_PAGES_PER_RANGE: u64 = 4;

/// The rows one partition reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Range {
    /// `gte <= createdAt < lt`; an absent bound is open. Both absent: every row.
    Between {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gte: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lt: Option<String>,
    },
    /// Rows whose `createdAt` is null (no range above holds them).
    Null,
}

impl Range {
    pub const ALL: Range = Range::Between {
        gte: None,
        lt: None,
    };

    /// The GraphQL `filter` selecting this range of `field`. Comparisons go in
    /// separate `and` terms: nestjs-query ORs the comparisons of one field.
    pub fn filter(&self, field: &str) -> Value {
        match self {
            Range::Between { gte, lt } => match (gte, lt) {
                (None, None) => json!({}),
                (Some(gte), None) => json!({ field: { "gte": gte } }),
                (None, Some(lt)) => json!({ field: { "lt": lt } }),
                (Some(gte), Some(lt)) => {
                    json!({ "and": [{ field: { "gte": gte } }, { field: { "lt": lt } }] })
                }
            },
            Range::Null => json!({ field: { "is": null } }),
        }
    }

    /// Whether a row whose `createdAt` reads `created` (`None`: null) may
    /// belong here. The upper bound allows 1 ms: a server that rounds its
    /// times to ms, rather than truncating, may show a row just below the
    /// bound at the bound.
    pub fn holds(&self, created: Option<&str>) -> bool {
        match self {
            Range::Null => created.is_none(),
            Range::Between {
                gte: None,
                lt: None,
            } => true,
            Range::Between { gte, lt } => {
                let Some(at) = created.and_then(parse_rfc3339_ms) else {
                    return false;
                };
                let bound = |b: &Option<String>| b.as_deref().and_then(parse_rfc3339_ms);
                bound(gte).is_none_or(|low| low <= at) && bound(lt).is_none_or(|high| at <= high)
            }
        }
    }

    /// Checks a range read back from a state: bounds are timestamps, in order.
    pub fn validate(&self) -> Result<()> {
        let Range::Between { gte, lt } = self else {
            return Ok(());
        };
        let ms = |bound: &Option<String>| -> Result<Option<i64>> {
            bound
                .as_deref()
                .map(|text| {
                    parse_rfc3339_ms(text).ok_or_else(|| {
                        Error::config(format!("partition bound {text:?} is not a timestamp"))
                    })
                })
                .transpose()
        };
        match (ms(gte)?, ms(lt)?) {
            (Some(low), Some(high)) if low >= high => Err(Error::config(format!(
                "partition range {gte:?}..{lt:?} is empty"
            ))),
            _ => Ok(()),
        }
    }
}

/// The filter that finds the newest row: `field` not null (sorted descending,
/// Postgres would put nulls first).
pub fn newest_filter(field: &str) -> Value {
    json!({ field: { "isNot": null } })
}

/// Whether a stream of about `rows` rows is large enough to split at all.
pub fn worth_splitting(rows: u64, page_size: u32) -> bool {
    range_count(rows, page_size) >= 2
}

fn range_count(rows: u64, page_size: u32) -> i64 {
    let pages = rows.div_ceil(u64::from(page_size.max(1)));
    (pages / MIN_PAGES_PER_RANGE).min(MAX_RANGES) as i64
}

/// Splits a stream of about `rows` rows, created between `oldest` and `newest`
/// (ms), into ranges of equal time that cover every row: the first and last are
/// open-ended (rows created during the read land in the last), and `nullable`
/// adds the range of rows without a creation time. `None` when the stream is
/// too small to be worth splitting.
pub fn ranges(
    rows: u64,
    page_size: u32,
    oldest: i64,
    newest: i64,
    nullable: bool,
) -> Option<Vec<Range>> {
    let count = range_count(rows, page_size);
    let span = newest.checked_sub(oldest)?;
    if count < 2 || span < count {
        return None;
    }
    let bounds: Vec<Option<String>> = (1..count)
        .map(|i| Some(format_rfc3339_ms(oldest + (span / count) * i)))
        .collect();
    let lower = std::iter::once(None).chain(bounds.iter().cloned());
    let upper = bounds.iter().cloned().chain(std::iter::once(None));
    let mut ranges: Vec<Range> = lower
        .zip(upper)
        .map(|(gte, lt)| Range::Between { gte, lt })
        .collect();
    if nullable {
        ranges.push(Range::Null);
    }
    Some(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn between(gte: Option<&str>, lt: Option<&str>) -> Range {
        Range::Between {
            gte: gte.map(str::to_owned),
            lt: lt.map(str::to_owned),
        }
    }

    #[test]
    fn filters_keep_each_comparison_in_its_own_and_term() {
        assert_eq!(Range::ALL.filter("createdAt"), json!({}));
        assert_eq!(
            between(Some("a"), None).filter("createdAt"),
            json!({"createdAt": {"gte": "a"}})
        );
        assert_eq!(
            between(Some("a"), Some("b")).filter("createdAt"),
            json!({"and": [{"createdAt": {"gte": "a"}}, {"createdAt": {"lt": "b"}}]})
        );
        assert_eq!(
            Range::Null.filter("createdAt"),
            json!({"createdAt": {"is": null}})
        );
    }

    #[test]
    fn ranges_cover_every_time_once_with_open_ends() {
        let split = ranges(10_000, 50, 0, 4 * DAY, true).unwrap();
        assert_eq!(
            split,
            vec![
                between(None, Some("1970-01-02T00:00:00.000Z")),
                between(
                    Some("1970-01-02T00:00:00.000Z"),
                    Some("1970-01-03T00:00:00.000Z")
                ),
                between(
                    Some("1970-01-03T00:00:00.000Z"),
                    Some("1970-01-04T00:00:00.000Z")
                ),
                between(Some("1970-01-04T00:00:00.000Z"), None),
                Range::Null,
            ]
        );
        for range in &split {
            range.validate().unwrap();
        }
        // Non-null creation times: no null range.
        assert!(!ranges(10_000, 50, 0, DAY, false)
            .unwrap()
            .contains(&Range::Null));
    }

    #[test]
    fn small_or_instant_streams_are_not_split() {
        assert_eq!(ranges(350, 50, 0, DAY, true), None, "7 pages: one range");
        assert_eq!(ranges(400, 50, 0, DAY, true).map(|r| r.len()), Some(3));
        assert_eq!(ranges(10_000, 50, 5, 5, true), None, "one instant");
        assert_eq!(
            ranges(10_000, 50, DAY, 0, true),
            None,
            "newest before oldest"
        );
        assert_eq!(ranges(10_000, 0, 0, DAY, true).map(|r| r.len()), Some(5));
    }

    #[test]
    fn holds_rows_of_its_range_only() {
        let (jan2, jan3) = ("2024-01-02T00:00:00.000Z", "2024-01-03T00:00:00.000Z");
        let range = between(Some(jan2), Some(jan3));
        assert!(range.holds(Some(jan2)));
        assert!(range.holds(Some("2024-01-02T12:00:00Z")));
        assert!(range.holds(Some(jan3)), "a time rounded up to the bound");
        assert!(!range.holds(Some("2024-01-03T00:00:00.001Z")));
        assert!(!range.holds(Some("2024-01-01T23:59:59.999Z")));
        assert!(!range.holds(None));
        assert!(!range.holds(Some("soon")));
        assert!(Range::ALL.holds(None) && Range::ALL.holds(Some("soon")));
        assert!(Range::Null.holds(None) && !Range::Null.holds(Some(jan2)));
    }

    #[test]
    fn validate_rejects_bad_bounds() {
        for (range, expected) in [
            (between(Some("soon"), None), "not a timestamp"),
            (
                between(Some("2024-01-02T00:00:00Z"), Some("2024-01-01T00:00:00Z")),
                "is empty",
            ),
        ] {
            let error = range.validate().unwrap_err();
            assert!(error.message.contains(expected), "{}", error.message);
        }
    }
}
