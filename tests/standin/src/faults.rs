//! Scripted misbehaviour: rules that make chosen requests fail the ways a
//! real API and network fail.
//!
//! Each rule counts the requests it applies to (authorized, valid requests,
//! only those selecting `root_field` when it is set), from 1, since the rule
//! set was installed. `on_request: k` fires on the k-th; `every: n` on each
//! n-th. Latency faults add up; of the others the first firing rule wins.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    OnRequest(u64),
    Every(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// An HTTP error status, optionally with a `Retry-After` header value.
    Status {
        code: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
    },
    /// Close the connection without answering.
    Drop,
    /// HTTP 200 whose body is the real answer cut in half.
    Truncate,
    /// HTTP 200 with `{"errors": [...], "data": null}`.
    GraphqlError { message: String, code: String },
    /// HTTP 200 with `{"data": null}` and no errors.
    DataNull,
    /// Answer normally, this much later.
    Latency { ms: u64 },
    /// A page whose `endCursor` is the request's `after`, with `hasNextPage: true`.
    RepeatCursor,
    /// HTTP 200 with `{}`.
    NoDataKey,
    /// Answer as if the request had no `filter` (a server that ignores it).
    IgnoreFilter,
    /// The real answer with its first node replaced by this JSON text (a
    /// number, an array, JSON nested too deep...).
    BadNode { node: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub when: Trigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_field: Option<String>,
    pub fault: Fault,
}

impl FaultRule {
    pub fn on_request(k: u64, fault: Fault) -> Self {
        FaultRule {
            when: Trigger::OnRequest(k),
            root_field: None,
            fault,
        }
    }

    pub fn every(n: u64, fault: Fault) -> Self {
        FaultRule {
            when: Trigger::Every(n),
            root_field: None,
            fault,
        }
    }

    /// Restricts the rule to requests selecting this root field.
    pub fn for_root_field(mut self, name: &str) -> Self {
        self.root_field = Some(name.to_string());
        self
    }

    fn applies_to(&self, root_fields: &[String]) -> bool {
        self.root_field
            .as_ref()
            .is_none_or(|f| root_fields.contains(f))
    }

    fn fires_at(&self, count: u64) -> bool {
        match self.when {
            Trigger::OnRequest(k) => count == k,
            Trigger::Every(n) => n > 0 && count.is_multiple_of(n),
        }
    }
}

/// The installed rules with their request counters.
#[derive(Debug, Default)]
pub struct FaultPlan {
    rules: Vec<(FaultRule, u64)>,
}

/// What the faults say to do with one request.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    pub latency_ms: u64,
    pub fault: Option<Fault>,
}

impl FaultPlan {
    pub fn set(&mut self, rules: Vec<FaultRule>) {
        self.rules = rules.into_iter().map(|r| (r, 0)).collect();
    }

    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push((rule, 0));
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|(r, _)| r.clone()).collect()
    }

    /// Counts one request against every rule and says which faults fire.
    pub fn decide(&mut self, root_fields: &[String]) -> Decision {
        let mut decision = Decision::default();
        for (rule, count) in &mut self.rules {
            if !rule.applies_to(root_fields) {
                continue;
            }
            *count += 1;
            if !rule.fires_at(*count) {
                continue;
            }
            match &rule.fault {
                Fault::Latency { ms } => decision.latency_ms += ms,
                other if decision.fault.is_none() => decision.fault = Some(other.clone()),
                _ => {}
            }
        }
        decision
    }
}

/// A rule from the command line: JSON (`{"every": 3, "fault": "drop"}`) or
/// `key=value` pairs, e.g. `every=3,root_field=customers,status=429,retry_after=2`.
/// Faults: `status=CODE[,retry_after=V]`, `drop`, `truncate`,
/// `graphql_error=MESSAGE[,code=CODE]`, `data_null`, `latency_ms=MS`,
/// `repeat_cursor`, `no_data_key`, `ignore_filter`, `bad_node=JSON` (JSON
/// without commas; use the JSON form otherwise).
impl FromStr for FaultRule {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let spec = spec.trim();
        if spec.starts_with('{') {
            return serde_json::from_str(spec).map_err(|e| format!("bad fault JSON: {e}"));
        }
        let pairs: Vec<(&str, &str)> = spec
            .split(',')
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let get = |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let number = |key: &str| {
            get(key)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| format!("{key} needs a number, got {v:?}"))
                })
                .transpose()
        };
        let when = match (number("on_request")?, number("every")?) {
            (Some(k), None) => Trigger::OnRequest(k),
            (None, Some(n)) => Trigger::Every(n),
            _ => {
                return Err(format!(
                    "fault {spec:?} needs exactly one of on_request=K or every=N"
                ))
            }
        };
        let fault =
            parse_fault(&get, &number)?.ok_or_else(|| format!("fault {spec:?} names no fault"))?;
        Ok(FaultRule {
            when,
            root_field: get("root_field").map(str::to_string),
            fault,
        })
    }
}

type Lookup<'a> = dyn Fn(&str) -> Option<&'a str> + 'a;
type NumberLookup<'a> = dyn Fn(&str) -> Result<Option<u64>, String> + 'a;

fn parse_fault<'a>(get: &Lookup<'a>, number: &NumberLookup<'a>) -> Result<Option<Fault>, String> {
    if let Some(code) = number("status")? {
        let code = u16::try_from(code).map_err(|_| format!("bad status {code}"))?;
        return Ok(Some(Fault::Status {
            code,
            retry_after: get("retry_after").map(str::to_string),
        }));
    }
    if let Some(message) = get("graphql_error") {
        let code = get("code").unwrap_or("INTERNAL_SERVER_ERROR").to_string();
        return Ok(Some(Fault::GraphqlError {
            message: message.to_string(),
            code,
        }));
    }
    if let Some(ms) = number("latency_ms")? {
        return Ok(Some(Fault::Latency { ms }));
    }
    if let Some(node) = get("bad_node") {
        return Ok(Some(Fault::BadNode {
            node: node.to_string(),
        }));
    }
    let simple = [
        ("drop", Fault::Drop),
        ("truncate", Fault::Truncate),
        ("data_null", Fault::DataNull),
        ("repeat_cursor", Fault::RepeatCursor),
        ("no_data_key", Fault::NoDataKey),
        ("ignore_filter", Fault::IgnoreFilter),
    ];
    Ok(simple
        .into_iter()
        .find(|(name, _)| get(name).is_some())
        .map(|(_, fault)| fault))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_value_specs() {
        let rule: Result<FaultRule, _> =
            "every=3,root_field=customers,status=429,retry_after=2".parse();
        let expected = FaultRule::every(
            3,
            Fault::Status {
                code: 429,
                retry_after: Some("2".into()),
            },
        )
        .for_root_field("customers");
        assert_eq!(rule, Ok(expected));
        assert_eq!(
            "on_request=1,drop".parse(),
            Ok(FaultRule::on_request(1, Fault::Drop))
        );
        assert_eq!(
            "on_request=2,latency_ms=50".parse(),
            Ok(FaultRule::on_request(2, Fault::Latency { ms: 50 }))
        );
        let error: Result<FaultRule, _> = "on_request=2,graphql_error=Boom,code=X".parse();
        assert_eq!(
            error.map(|r| r.fault),
            Ok(Fault::GraphqlError {
                message: "Boom".into(),
                code: "X".into()
            })
        );
        assert!("drop".parse::<FaultRule>().is_err());
        assert!("every=2".parse::<FaultRule>().is_err());
    }

    #[test]
    fn parses_and_prints_json() {
        let rule: Result<FaultRule, _> =
            r#"{"on_request": 2, "root_field": "plans", "fault": "truncate"}"#.parse();
        assert_eq!(
            rule,
            Ok(FaultRule::on_request(2, Fault::Truncate).for_root_field("plans"))
        );
        let json = serde_json::to_value(FaultRule::every(
            4,
            Fault::Status {
                code: 503,
                retry_after: None,
            },
        ));
        assert_eq!(
            json.ok(),
            Some(serde_json::json!({"every": 4, "fault": {"status": {"code": 503}}}))
        );
    }

    #[test]
    fn counts_per_rule_and_root_field() {
        let mut plan = FaultPlan::default();
        plan.set(vec![
            FaultRule::on_request(2, Fault::Drop).for_root_field("plans"),
            FaultRule::every(2, Fault::Latency { ms: 5 }),
        ]);
        let customers = vec!["customers".to_string()];
        let plans = vec!["plans".to_string()];
        assert_eq!(plan.decide(&customers), Decision::default());
        assert_eq!(
            plan.decide(&plans),
            Decision {
                latency_ms: 5,
                fault: None
            }
        );
        assert_eq!(
            plan.decide(&plans),
            Decision {
                latency_ms: 0,
                fault: Some(Fault::Drop)
            }
        );
        assert_eq!(
            plan.decide(&plans),
            Decision {
                latency_ms: 5,
                fault: None
            }
        );
    }
}
