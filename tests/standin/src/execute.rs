//! Executes a validated query against the store through apollo-compiler's
//! resolver API, which handles selection sets, fragments, aliases,
//! `__typename` and argument defaults.

use std::cell::RefCell;
use std::sync::Arc;

use apollo_compiler::executable::Operation;
use apollo_compiler::resolvers::{Execution, FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::{ExecutionResponse, JsonMap, JsonValue};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};

use crate::data::Kind;
use crate::execute_input::{custom_currencies, entitlements, per_customer};
use crate::fields::{nested, object, scalar, Memo, Obj, Tree, Val};
use crate::nested_args;
use crate::paging::{encode_cursor, window, PageRequest, Window};
use crate::store::Store;

/// Faults that change what a query answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// Answer with `endCursor` equal to the request's `after`.
    RepeatCursor,
    /// Answer as if the request had no `filter`.
    IgnoreFilter,
}

/// What one execution may need besides the query.
pub struct Context<'a> {
    pub store: &'a Store,
    pub max_page_size: usize,
    /// A fault that changes the answer itself.
    pub quirk: Option<Quirk>,
    /// Messages of errors caused by the request's input (BAD_USER_INPUT).
    user_errors: RefCell<Vec<String>>,
    memo: Memo,
}

impl<'a> Context<'a> {
    pub fn new(store: &'a Store, max_page_size: usize, quirk: Option<Quirk>) -> Self {
        Context {
            store,
            max_page_size,
            quirk,
            user_errors: RefCell::new(Vec::new()),
            memo: Memo::default(),
        }
    }

    pub(crate) fn user_error(&self, message: String) -> FieldError {
        self.user_errors.borrow_mut().push(message.clone());
        FieldError { message }
    }
}

/// Runs the operation; field errors come back inside the response, with an
/// `extensions.code` as Apollo Server gives them.
pub fn execute(
    ctx: &Context,
    schema: &Valid<Schema>,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    variables: &Valid<JsonMap>,
) -> ExecutionResponse {
    let root = QueryRoot { ctx };
    let result = Execution::new(schema, document)
        .enable_schema_introspection(true)
        .operation(operation)
        .coerced_variable_values(variables)
        .execute_sync(&root);
    let mut response = match result {
        Ok(response) => response,
        // Variables were coerced and the operation picked already: not expected.
        Err(e) => ExecutionResponse {
            errors: vec![plain_error(e.message().to_string())],
            data: None,
        },
    };
    let user_errors = ctx.user_errors.borrow();
    for error in &mut response.errors {
        // apollo-compiler prefixes resolver messages; Stigg's carry none.
        if let Some(message) = error.message.strip_prefix("resolver error: ") {
            error.message = message.to_string();
        }
        let code = if user_errors.contains(&error.message) {
            "BAD_USER_INPUT"
        } else {
            "INTERNAL_SERVER_ERROR"
        };
        error
            .extensions
            .entry("code")
            .or_insert_with(|| JsonValue::from(code));
    }
    response
}

fn plain_error(message: String) -> apollo_compiler::response::GraphQLError {
    apollo_compiler::response::GraphQLError {
        message,
        locations: Vec::new(),
        path: Vec::new(),
        extensions: JsonMap::new(),
    }
}

struct QueryRoot<'c> {
    ctx: &'c Context<'c>,
}

impl ObjectValue for QueryRoot<'_> {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let ctx = self.ctx;
        match info.field_name() {
            "customCurrencies" => return Ok(custom_currencies(ctx, info.arguments())),
            "entitlements" => return Ok(entitlements(ctx, info.arguments())),
            "creditGrants" | "creditsLedger" => {
                return per_customer(ctx, info.field_name(), info.arguments())
            }
            _ => {}
        }
        let kind = Kind::from_root_field(info.field_name())
            .filter(|k| k.is_filtered_list())
            .ok_or_else(|| self.unknown_field_error(info))?;
        Ok(ResolvedValue::object(list(ctx, kind, info.arguments())?))
    }
}

/// Filters, sorts and pages one list query.
fn list<'c>(
    ctx: &'c Context<'c>,
    kind: Kind,
    args: &JsonMap,
) -> Result<Connection<'c>, FieldError> {
    let arg = |name: &str| args.get(name).cloned().unwrap_or(JsonValue::Null);
    let filter = match ctx.quirk {
        Some(Quirk::IgnoreFilter) => JsonValue::Null,
        _ => arg("filter"),
    };
    let ordered = ctx
        .store
        .ordered(kind, &filter, &arg("sorting"))
        .map_err(|m| ctx.user_error(m))?;
    let request = PageRequest::parse(&arg("paging"));
    let window =
        window(ordered.len(), &request, ctx.max_page_size).map_err(|m| ctx.user_error(m))?;
    Ok(Connection {
        ctx,
        kind,
        ordered,
        window,
        after: request.after,
    })
}

struct Connection<'c> {
    ctx: &'c Context<'c>,
    kind: Kind,
    ordered: Arc<Vec<u32>>,
    window: Window,
    after: Option<String>,
}

impl ObjectValue for Connection<'_> {
    fn type_name(&self) -> &str {
        self.kind.connection_type()
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match info.field_name() {
            "totalCount" => Ok(ResolvedValue::leaf(self.ordered.len() as i64)),
            "pageInfo" => Ok(ResolvedValue::object(self.page_info())),
            "edges" => {
                let edges = (self.window.start..self.window.end).map(|offset| {
                    let node = Node {
                        ctx: self.ctx,
                        kind: self.kind,
                        index: self.ordered[offset],
                    };
                    ResolvedValue::object(Edge { node, offset })
                });
                Ok(ResolvedValue::list(edges))
            }
            _ => Err(self.unknown_field_error(info)),
        }
    }
}

impl PageInfo {
    /// The page info of a window, without faults.
    pub(crate) fn of(window: Window) -> PageInfo {
        let (start_cursor, end_cursor) = match window.end > window.start {
            true => (
                Some(encode_cursor(window.start)),
                Some(encode_cursor(window.end - 1)),
            ),
            false => (None, None),
        };
        PageInfo {
            start_cursor,
            end_cursor,
            has_next_page: window.has_next_page,
            has_previous_page: window.has_previous_page,
        }
    }
}

impl Connection<'_> {
    fn page_info(&self) -> PageInfo {
        let Window {
            start,
            end,
            has_next_page,
            has_previous_page,
        } = self.window;
        let (start_cursor, end_cursor) = match end > start {
            true => (Some(encode_cursor(start)), Some(encode_cursor(end - 1))),
            false => (None, None),
        };
        if self.ctx.quirk == Some(Quirk::RepeatCursor) {
            return PageInfo {
                start_cursor,
                end_cursor: self.after.clone(),
                has_next_page: true,
                has_previous_page,
            };
        }
        PageInfo {
            start_cursor,
            end_cursor,
            has_next_page,
            has_previous_page,
        }
    }
}

pub(crate) struct PageInfo {
    start_cursor: Option<String>,
    end_cursor: Option<String>,
    has_next_page: bool,
    has_previous_page: bool,
}

impl ObjectValue for PageInfo {
    fn type_name(&self) -> &str {
        "PageInfo"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let cursor = |c: &Option<String>| c.as_deref().map_or(JsonValue::Null, JsonValue::from);
        match info.field_name() {
            "startCursor" => Ok(ResolvedValue::leaf(cursor(&self.start_cursor))),
            "endCursor" => Ok(ResolvedValue::leaf(cursor(&self.end_cursor))),
            "hasNextPage" => Ok(ResolvedValue::leaf(self.has_next_page)),
            "hasPreviousPage" => Ok(ResolvedValue::leaf(self.has_previous_page)),
            _ => Err(self.unknown_field_error(info)),
        }
    }
}

struct Edge<'c> {
    node: Node<'c>,
    offset: usize,
}

impl ObjectValue for Edge<'_> {
    fn type_name(&self) -> &str {
        self.node.kind.edge_type()
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match info.field_name() {
            "cursor" => Ok(ResolvedValue::leaf(encode_cursor(self.offset))),
            "node" => Ok(ResolvedValue::object(self.node)),
            _ => Err(self.unknown_field_error(info)),
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Node<'c> {
    pub ctx: &'c Context<'c>,
    pub kind: Kind,
    pub index: u32,
}

impl ObjectValue for Node<'_> {
    fn type_name(&self) -> &str {
        self.kind.node_type()
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let ds = &self.ctx.store.data;
        let name = info.field_name();
        if let Some(value) = scalar(ds, self.kind, self.index, name) {
            return Ok(resolved(value));
        }
        if let Some(target) = object(ds, self.kind, self.index, name) {
            return Ok(ResolvedValue::nullable_object(target.map(
                |(kind, index)| Node {
                    ctx: self.ctx,
                    kind,
                    index,
                },
            )));
        }
        match nested(ds, self.kind, self.index, name, &self.ctx.memo) {
            Some(tree) => {
                let tree = nested_args::apply(ds, self.kind, name, tree, info.arguments())
                    .map_err(|m| self.ctx.user_error(m))?;
                Ok(resolve_tree(self.ctx, tree))
            }
            None => Err(self.unknown_field_error(info)),
        }
    }
}

/// A nested value: objects resolve field by field, so only the selected
/// fields are answered, and unions pick their fragments by `type_name`.
pub(crate) fn resolve_tree<'a>(ctx: &'a Context<'a>, tree: Tree) -> ResolvedValue<'a> {
    match tree {
        Tree::Leaf(value) => resolved(value),
        Tree::List(items) => {
            ResolvedValue::list(items.into_iter().map(move |t| resolve_tree(ctx, t)))
        }
        Tree::Obj(obj) => ResolvedValue::object(TreeObject { ctx, obj }),
        Tree::Row(kind, index) => ResolvedValue::object(Node { ctx, kind, index }),
    }
}

struct TreeObject<'c> {
    ctx: &'c Context<'c>,
    obj: Obj,
}

impl ObjectValue for TreeObject<'_> {
    fn type_name(&self) -> &str {
        self.obj.type_name
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match self.obj.get(info.field_name()) {
            Some(tree) => Ok(resolve_tree(self.ctx, tree.clone())),
            None => Err(self.unknown_field_error(info)),
        }
    }
}

fn resolved<'a>(value: Val) -> ResolvedValue<'a> {
    match value {
        Val::List(items) => ResolvedValue::list(items.into_iter().map(resolved)),
        other => ResolvedValue::leaf(other.to_json()),
    }
}
