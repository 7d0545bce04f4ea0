//! The queries that take an `input` (or `query`) instead of
//! filter/paging/sorting: `customCurrencies` (a plain list), the
//! per-customer credit connections `creditGrants` and `creditsLedger`,
//! and the per-customer list `entitlements`.

use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::{JsonMap, JsonValue};

use crate::data::{Dataset, Kind};
use crate::execute::{resolve_tree, Context, Node, PageInfo};
use crate::fields::{currency_is_archived, customer_entitlements, ledger, scalar, Tree, Val};
use crate::paging::{encode_cursor, window, PageRequest, Window};
use crate::rng::parse_uuid;

fn input(args: &JsonMap) -> JsonMap {
    object_arg(args, "input")
}

fn object_arg(args: &JsonMap, name: &str) -> JsonMap {
    args.get(name)
        .and_then(JsonValue::as_object)
        .cloned()
        .unwrap_or_default()
}

fn texts(value: Option<&JsonValue>) -> Option<Vec<&str>> {
    let items = value?.as_array()?;
    Some(items.iter().filter_map(JsonValue::as_str).collect())
}

/// An `environmentId` other than the stand-in's selects nothing.
fn other_environment(ds: &Dataset, input: &JsonMap) -> bool {
    match input.get("environmentId").and_then(JsonValue::as_str) {
        Some(id) => parse_uuid(id) != Some(ds.environment_id),
        None => false,
    }
}

/// Without `status`, only ACTIVE currencies, as Stigg's app lists them
/// (the connector asks for both statuses).
pub fn custom_currencies<'a>(ctx: &'a Context<'a>, args: &JsonMap) -> ResolvedValue<'a> {
    let input = input(args);
    let ds = &ctx.store.data;
    let statuses = texts(input.get("status")).unwrap_or_else(|| vec!["ACTIVE"]);
    let wanted = |i: u32| {
        let status = if currency_is_archived(i) {
            "ARCHIVED"
        } else {
            "ACTIVE"
        };
        statuses.contains(&status)
    };
    let indices: Vec<u32> = match other_environment(ds, &input) {
        true => Vec::new(),
        false => (0..ds.count(Kind::CustomCurrency) as u32)
            .filter(|&i| wanted(i))
            .collect(),
    };
    ResolvedValue::list(indices.into_iter().map(move |index| {
        ResolvedValue::object(Node {
            ctx,
            kind: Kind::CustomCurrency,
            index,
        })
    }))
}

/// `entitlements(query: {customerId, environmentId, resourceId})`: the
/// entitlements of the customer with that `customerId`, on that resource
/// (or on none); an unknown or deleted customer has none (the real API may
/// answer an error instead).
pub fn entitlements<'a>(ctx: &'a Context<'a>, args: &JsonMap) -> ResolvedValue<'a> {
    let query = object_arg(args, "query");
    let ds = &ctx.store.data;
    let customer = query
        .get("customerId")
        .and_then(JsonValue::as_str)
        .and_then(|id| ds.customer_by_external_id(id))
        .filter(|_| !other_environment(ds, &query));
    let resource = query.get("resourceId").and_then(JsonValue::as_str);
    let rows = customer.map_or_else(Vec::new, |c| customer_entitlements(ds, c, resource));
    ResolvedValue::list(
        rows.into_iter()
            .map(move |row| resolve_tree(ctx, Tree::Obj(row))),
    )
}

/// One customer's grants or ledger, named by its `customerId`; an unknown
/// (or deleted) customer has none. `currencyId`, `resourceId` and the
/// ledger's `eventType` narrow the list.
pub fn per_customer<'a>(
    ctx: &'a Context<'a>,
    field: &str,
    args: &JsonMap,
) -> Result<ResolvedValue<'a>, FieldError> {
    let input = input(args);
    let ds = &ctx.store.data;
    let customer = input
        .get("customerId")
        .and_then(JsonValue::as_str)
        .and_then(|id| ds.customer_by_external_id(id))
        .filter(|_| !other_environment(ds, &input));
    let text = |name: &str| input.get(name).and_then(JsonValue::as_str);
    let currency = text("currencyId").map(|c| Val::Str(c.to_string()));
    let resource = text("resourceId").map(|r| Val::Str(r.to_string()));
    let event_types = texts(input.get("eventType"));
    let (kind_names, items): ((&'static str, &'static str), Vec<Tree>) = match field {
        "creditGrants" => {
            let grants = customer
                .and_then(|c| ds.grants_by_customer.get(&c))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let value = |g: u32, name: &str| scalar(ds, Kind::CreditGrant, g, name);
            let items = grants
                .iter()
                .filter(|&&g| currency.is_none() || value(g, "currencyId") == currency)
                .filter(|&&g| resource.is_none() || value(g, "resourceId") == resource)
                .map(|&g| Tree::Row(Kind::CreditGrant, g))
                .collect();
            (("CreditGrantConnection", "CreditGrantEdge"), items)
        }
        _ => {
            let entries = customer.map(|c| ledger(ds, c)).unwrap_or_default();
            let items = entries
                .into_iter()
                .filter(|e| currency.is_none() || Some(e.leaf("creditCurrencyId")) == currency)
                .filter(|e| resource.is_none() || Some(e.leaf("resourceId")) == resource)
                .filter(|e| {
                    event_types.as_ref().is_none_or(
                        |types| matches!(e.leaf("eventType"), Val::Enum(t) if types.contains(&t)),
                    )
                })
                .map(Tree::Obj)
                .collect();
            (("CreditLedgerConnection", "CreditLedgerEdge"), items)
        }
    };
    let paging = input.get("paging").cloned().unwrap_or(JsonValue::Null);
    let window = window(items.len(), &PageRequest::parse(&paging), ctx.max_page_size)
        .map_err(|m| ctx.user_error(m))?;
    Ok(ResolvedValue::object(Items {
        ctx,
        names: kind_names,
        items,
        window,
    }))
}

/// A connection over a list computed for the request.
struct Items<'c> {
    ctx: &'c Context<'c>,
    /// Connection and edge type names.
    names: (&'static str, &'static str),
    items: Vec<Tree>,
    window: Window,
}

impl ObjectValue for Items<'_> {
    fn type_name(&self) -> &str {
        self.names.0
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match info.field_name() {
            "totalCount" => Ok(ResolvedValue::leaf(self.items.len() as i64)),
            "pageInfo" => Ok(ResolvedValue::object(PageInfo::of(self.window))),
            "edges" => {
                let edges = (self.window.start..self.window.end).map(|offset| {
                    ResolvedValue::object(ItemEdge {
                        ctx: self.ctx,
                        type_name: self.names.1,
                        item: &self.items[offset],
                        offset,
                    })
                });
                Ok(ResolvedValue::list(edges))
            }
            _ => Err(self.unknown_field_error(info)),
        }
    }
}

struct ItemEdge<'c> {
    ctx: &'c Context<'c>,
    type_name: &'static str,
    item: &'c Tree,
    offset: usize,
}

impl ObjectValue for ItemEdge<'_> {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match info.field_name() {
            "cursor" => Ok(ResolvedValue::leaf(encode_cursor(self.offset))),
            "node" => Ok(resolve_tree(self.ctx, self.item.clone())),
            _ => Err(self.unknown_field_error(info)),
        }
    }
}
