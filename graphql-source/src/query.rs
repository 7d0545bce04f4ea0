//! The GraphQL document a read sends: the connection with paging, order and
//! filter as variables, and the selection set of the columns it needs.

use crate::stream::{Answer, Field, PerParentDef, Read, StreamDef, TotalCount, Ty};

/// A top-level field to select, whole or with only some of its element's
/// fields (a list read for a child stream whose columns were narrowed).
#[derive(Debug, Clone)]
pub struct Pick {
    pub field: &'static Field,
    /// `None`: every declared sub-field.
    pub only: Option<Vec<&'static str>>,
}

impl Pick {
    pub fn whole(field: &'static Field) -> Pick {
        Pick { field, only: None }
    }
}

/// The fields a query leaves out (dotted from the node: the server's
/// schema no longer has them, see [`crate::drift`]).
pub type Absent<'a> = &'a [String];

/// The document of one page of `stream`, selecting `picks` in each node.
pub fn document(stream: &StreamDef, picks: &[Pick], total: TotalCount, absent: Absent) -> String {
    let mut selection = String::new();
    let selected = picks.iter().filter(|p| !matches!(p.field.ty, Ty::From(_)));
    for pick in selected {
        let only = pick.only.as_deref();
        select_field(pick.field, only, &Path::root(absent), &mut selection);
    }
    let Read::Connection(connection) = &stream.read else {
        return list_document(stream, &selection);
    };
    format!(
        "query {name}Page($paging: CursorPaging!, $sorting: [{sort}!], $filter: {filter}) \
         {{ {root}(paging: $paging, sorting: $sorting, filter: $filter) \
         {{ edges {{ node {{{selection} }} }} pageInfo {{ hasNextPage endCursor }}{total} }} }}",
        name = upper_camel(stream.name),
        sort = connection.sort_type,
        filter = connection.filter_type,
        root = stream.root_field,
        total = match total {
            TotalCount::Ask if connection.total_count => " totalCount",
            _ => "",
        },
    )
}

/// The document of one page of a per-parent stream: the parent and the
/// paging travel in `$input`.
pub fn per_parent_document(stream: &PerParentDef, absent: Absent) -> String {
    let mut selection = String::new();
    for field in stream.fields {
        select_field(field, None, &Path::root(absent), &mut selection);
    }
    let answer = match stream.answer {
        Answer::Connection => {
            format!("{{ edges {{ node {{{selection} }} }} pageInfo {{ hasNextPage endCursor }} }}")
        }
        Answer::List => format!("{{{selection} }}"),
    };
    format!(
        "query {name}Page(${arg}: {input}!) {{ {root}({arg}: ${arg}) {answer} }}",
        name = upper_camel(stream.name),
        arg = stream.argument,
        input = stream.input_type,
        root = stream.root_field,
    )
}

/// The document of a plain list: no paging, one response.
fn list_document(stream: &StreamDef, selection: &str) -> String {
    let args = match &stream.read {
        Read::List { args } => args,
        Read::Connection(_) => "",
    };
    format!(
        "query {name}List {{ {root}{args} {{{selection} }} }}",
        name = upper_camel(stream.name),
        root = stream.root_field,
    )
}

/// Every field of the stream.
pub fn all_fields(stream: &'static StreamDef) -> Vec<Pick> {
    stream.fields.iter().map(Pick::whole).collect()
}

/// Where a selection is, from the node, and what is left out.
struct Path<'a> {
    at: String,
    absent: Absent<'a>,
}

impl<'a> Path<'a> {
    fn root(absent: Absent<'a>) -> Path<'a> {
        Path {
            at: String::new(),
            absent,
        }
    }

    fn then(&self, name: &str) -> Path<'a> {
        let at = match self.at.as_str() {
            "" => name.to_owned(),
            at => format!("{at}.{name}"),
        };
        Path {
            at,
            absent: self.absent,
        }
    }

    fn left_out(&self) -> bool {
        self.absent.contains(&self.at)
    }
}

/// ` name(args) { ... }`, unless the field is left out.
fn select_field(field: &Field, only: Option<&[&str]>, parent: &Path, out: &mut String) {
    let path = parent.then(field.name);
    if path.left_out() {
        return;
    }
    out.push(' ');
    out.push_str(field.name);
    out.push_str(field.args);
    select_ty(&field.ty, only, &path, out);
}

/// The sub-selection of a type (nothing for a scalar).
fn select_ty(ty: &Ty, only: Option<&[&str]>, path: &Path, out: &mut String) {
    let wanted = |f: &&Field| only.is_none_or(|names| names.contains(&f.name));
    let selectable = |f: &&Field| !matches!(f.ty, Ty::From(_));
    match ty {
        Ty::List(item) => select_ty(item, only, path, out),
        Ty::Object(fields) => {
            out.push_str(" {");
            for field in fields.iter().filter(selectable).filter(wanted) {
                select_field(field, None, path, out);
            }
            out.push_str(" }");
        }
        Ty::Union(members) => {
            out.push_str(" { __typename");
            for member in members.iter() {
                let fields: Vec<&Field> = member.fields.iter().filter(wanted).collect();
                if fields.is_empty() || path.then(member.type_name).left_out() {
                    continue;
                }
                out.push_str(" ... on ");
                out.push_str(member.type_name);
                out.push_str(" {");
                for field in fields {
                    select_field(field, None, path, out);
                }
                out.push_str(" }");
            }
            out.push_str(" }");
        }
        _ => {}
    }
}

fn upper_camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{CURRENCIES, CUSTOMERS, EVENTS, PLANS, SUBSCRIPTIONS};

    #[test]
    fn query_selects_every_field_and_the_page_info() {
        let q = document(&CUSTOMERS, &all_fields(&CUSTOMERS), TotalCount::Ask, &[]);
        assert!(q.starts_with("query CustomersPage($paging: CursorPaging!, $sorting: [CustomerSort!], $filter: CustomerFilter)"));
        assert!(q.contains("customers(paging: $paging, sorting: $sorting, filter: $filter)"));
        assert!(q.contains("node { id customerId "));
        assert!(q.contains("pageInfo { hasNextPage endCursor } totalCount } }"));
        let next = document(&CUSTOMERS, &all_fields(&CUSTOMERS), TotalCount::Skip, &[]);
        assert!(
            next.ends_with("pageInfo { hasNextPage endCursor } } }"),
            "{next}"
        );
        let subs = document(
            &SUBSCRIPTIONS,
            &all_fields(&SUBSCRIPTIONS),
            TotalCount::Skip,
            &[],
        );
        assert!(subs.contains(" plan { id refId } "), "{subs}");
    }

    #[test]
    fn lists_unions_and_arguments_are_selected() {
        let q = document(&PLANS, &all_fields(&PLANS), TotalCount::Skip, &[]);
        assert!(
            q.contains(" prices(filter: {}) { id amount { amount currency } }"),
            "{q}"
        );
        assert!(
            q.contains(" grants { __typename ... on UnitGrant { id units } ... on CreditGrant { id credits } }"),
            "{q}"
        );
    }

    #[test]
    fn a_connection_without_a_total_is_never_asked_for_one() {
        let q = document(&EVENTS, &all_fields(&EVENTS), TotalCount::Ask, &[]);
        assert!(q.ends_with("pageInfo { hasNextPage endCursor } } }"), "{q}");
    }

    #[test]
    fn a_plain_list_is_one_query_with_its_arguments() {
        let q = document(&CURRENCIES, &all_fields(&CURRENCIES), TotalCount::Ask, &[]);
        assert_eq!(
            q,
            "query CurrenciesList { currencies(input: {status: [ACTIVE, ARCHIVED]}) { id symbol } }"
        );
    }

    #[test]
    fn a_narrowed_pick_selects_only_its_sub_fields() {
        let prices = PLANS.field("prices").unwrap();
        let picks = [
            Pick::whole(PLANS.field("id").unwrap()),
            Pick {
                field: prices,
                only: Some(vec!["id"]),
            },
        ];
        let q = document(&PLANS, &picks, TotalCount::Skip, &[]);
        assert!(q.contains("node { id prices(filter: {}) { id } }"), "{q}");
    }

    #[test]
    fn absent_fields_leave_the_query_at_any_depth() {
        let absent = [
            "name".to_owned(),
            "prices.amount".to_owned(),
            "grants.CreditGrant".to_owned(),
        ];
        let q = document(&PLANS, &all_fields(&PLANS), TotalCount::Skip, &absent);
        assert!(
            q.contains("node { id createdAt prices(filter: {}) { id } "),
            "{q}"
        );
        assert!(!q.contains("CreditGrant"), "{q}");
        assert!(q.contains("... on UnitGrant { id units }"), "{q}");
    }
}
