//! Streams as data: each stream is a small declarative definition (its GraphQL
//! connection, fields, key, order and cursor); the read loop does the rest.
//! A [`ChildDef`] is a stream whose rows are the elements of a list inside the
//! records of one or more parent streams: read from the parents' pages, with
//! no request of its own.

/// One Airbyte stream read from one `Query` field.
#[derive(Debug)]
pub struct StreamDef {
    /// The Airbyte stream name.
    pub name: &'static str,
    /// The `Query` field that returns the rows, e.g. `customers`.
    pub root_field: &'static str,
    pub read: Read,
    /// The top-level fields that identify a row (a nested key is copied up
    /// with [`Ty::From`]).
    pub primary_key: &'static [&'static str],
    pub fields: &'static [Field],
}

/// How the rows of a root field are read.
#[derive(Debug)]
pub enum Read {
    /// A cursor connection (`edges { node }`, `pageInfo`), paged, sorted and
    /// filtered through nestjs-query's arguments.
    Connection(Connection),
    /// A plain list (`[T!]!`) answered in one response, sent with `args`
    /// (e.g. a filter that includes archived rows).
    List { args: &'static str },
}

#[derive(Debug)]
pub struct Connection {
    /// GraphQL input types of the field's `filter` and `sorting` arguments.
    pub filter_type: &'static str,
    pub sort_type: &'static str,
    /// Whether the connection type has `totalCount`.
    pub total_count: bool,
    pub full_refresh_order: Order,
    /// Set when the stream can be read incrementally.
    pub incremental: Option<Incremental>,
}

/// The order a full refresh pages in, ascending: the creation time first (new
/// rows land at the end, so offset cursors stay valid, and partitions split
/// on it), then fields that break its ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub created: &'static str,
    pub ties: &'static [&'static str],
}

impl Order {
    /// Every field, creation time first.
    pub fn fields(&self) -> Vec<&'static str> {
        std::iter::once(self.created)
            .chain(self.ties.iter().copied())
            .collect()
    }
}

/// A stream the API answers for one parent at a time:
/// `root(<argument>: {<input_key>: <parent's value>})`, a connection paged
/// in the argument's `paging` or a plain list. Its requests are made for
/// each record of the parent stream.
#[derive(Debug)]
pub struct PerParentDef {
    pub name: &'static str,
    pub root_field: &'static str,
    /// The argument that names the parent (`input`) and its GraphQL input type.
    pub argument: &'static str,
    pub input_type: &'static str,
    pub answer: Answer,
    pub parent: &'static StreamDef,
    /// What names a parent in a request: fields of its record, each in
    /// its field of the argument; the first also fills the parent column.
    pub naming: &'static [Naming],
    pub primary_key: &'static [&'static str],
    /// A column made from other fields (dotted paths, or the parent
    /// column), for rows with no id of their own.
    pub key_column: Option<KeyColumn>,
    /// A column, led by the key, holding the parent's value: for answers
    /// that do not name their parent.
    pub parent_column: Option<&'static str>,
    /// Set when an incremental sync may read only the parents an activity
    /// log names since the last sync.
    pub incremental: Option<ParentActivity>,
    pub fields: &'static [Field],
}

/// A parent record's field (a dotted path: `customer.customerId`) and
/// the field of the request's argument that takes its value.
#[derive(Debug)]
pub struct Naming {
    pub field: &'static str,
    pub input: &'static str,
}

/// Names the parent by its `customerId`-like field, under the same name.
pub const fn by(field: &'static str) -> [Naming; 1] {
    [Naming {
        field,
        input: field,
    }]
}

/// What the API answers for one parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A connection, paged by the argument's `paging`.
    Connection,
    /// A plain list (`[T!]!`), every row in one response.
    List,
}

/// Which parents an incremental sync of a per-parent stream reads: those
/// the log's `entries` name since the last sync, values of the parent
/// stream's `parent_key`.
#[derive(Debug)]
pub struct ParentActivity {
    /// The rows' cursor, for runners (what is read is decided by the log).
    pub cursor: &'static str,
    pub entries: LogEntries,
    /// The parent stream's field (filterable with `in`) those values name.
    pub parent_key: &'static str,
}

/// Entries of an activity log that name rows: those `filter` keeps, each
/// naming its row in `field`, in `form` (a value of another form fails the
/// read: the log names rows some other way than assumed). Deletions, the
/// activity mode and per-parent activity are all declared with one.
#[derive(Debug)]
pub struct LogEntries {
    /// The connection that logs them, read by its own incremental cursor
    /// (each entry's time).
    pub log: &'static StreamDef,
    /// Filter members, as GraphQL input JSON, that keep these entries, e.g.
    /// `{"eventLogType": {"in": ["CUSTOMER_DELETED"]}}`.
    pub filter: &'static str,
    pub field: &'static str,
    pub form: KeyForm,
}

/// A column whose value joins the values of `from` with `|` (null as
/// empty): a key for rows the API gives no id.
#[derive(Debug)]
pub struct KeyColumn {
    pub name: &'static str,
    pub from: &'static [&'static str],
}

/// A stream made of the elements of lists inside parent records.
#[derive(Debug)]
pub struct ChildDef {
    pub name: &'static str,
    /// The column that holds the parent record's primary key.
    pub parent_key: &'static str,
    /// Columns of the element (or `parent_key`) that identify a row.
    pub primary_key: &'static [&'static str],
    /// Where rows come from, in order; every source's list holds the same
    /// element type and carries the same tag columns.
    pub sources: &'static [ChildSource],
}

/// One list field of a parent stream's records.
#[derive(Debug)]
pub struct ChildSource {
    pub parent: &'static StreamDef,
    /// A field of the parent of type [`Ty::List`] of objects or unions.
    pub list: &'static str,
    /// Constant string columns that tell sources apart (e.g. `package_type`).
    pub tags: &'static [(&'static str, &'static str)],
}

/// Whether a page asks for the connection's `totalCount`: nestjs-query counts
/// with a query of its own, so only a stream's first round asks (for the
/// estimate and the partition plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalCount {
    Ask,
    Skip,
}

/// Incremental reads filter on `cursor >= state`, sorted by (cursor, tie_break).
#[derive(Debug)]
pub struct Incremental {
    /// A non-null timestamp that changes whenever the row does (`updatedAt`),
    /// or that is set once for append-only rows (`createdAt`).
    pub cursor: &'static str,
    /// A unique, sortable field that orders rows with equal cursors.
    pub tie_break: &'static str,
    pub paging: IncrementalPaging,
    /// Where an incremental sync learns which rows were deleted since the
    /// last one (rows the API no longer returns): the entries naming each
    /// deleted row's primary key. For each, a record with the key, its cursor
    /// and `_ab_cdc_deleted_at` set to the deletion time, so destinations
    /// deduplicating on the key delete the row.
    pub deletes: Option<LogEntries>,
}

/// An incremental mode for a stream with no usable cursor: the rows an
/// activity log names as changed since the last sync are read again by id.
/// Opt-in per config (a log may not name every change), with a periodic full
/// refresh that corrects any drift.
#[derive(Debug)]
pub struct Activity {
    pub stream: &'static StreamDef,
    /// The entries naming each changed row, by a value of its `row_key`.
    pub entries: LogEntries,
    /// The log field naming what the stream is read again by (e.g. the
    /// row's parent, when its filter cannot take the row's own id)...
    pub by_field: &'static str,
    /// ...and the filter path that takes those values with `in`.
    pub filter_path: &'static [&'static str],
    /// Every changed row must be among those read again, or the read fails:
    /// the log would name rows some other way than assumed.
    pub row_key: &'static str,
}

/// The column Airbyte destinations read deletions from.
pub const DELETED_AT: &str = "_ab_cdc_deleted_at";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    Uuid,
    Any,
}

/// How an incremental read moves from page to page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrementalPaging {
    /// By the (cursor, tie_break) key of the last row: rows that change
    /// during the read cannot shift a page. Needs `gt`, `eq` and `or` filters
    /// on both fields.
    Keyset,
    /// By the server's offset cursors over `cursor >= state`, for append-only
    /// rows whose filter has only `gte` (rows added during the read land at
    /// the end, after every offset already read).
    Offset,
}

/// A selected field, typed as the API's schema types it.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// Whether the schema allows null here.
    pub nullable: bool,
    /// Arguments sent with the field, e.g. `(filter: {})` to override a
    /// default filter that would hide rows; empty for none.
    pub args: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub enum Ty {
    String,
    /// A GraphQL enum: a string on the wire.
    Enum,
    DateTime,
    Int,
    Float,
    Boolean,
    /// A `JSON` scalar holding key-value data: typed as an object, so
    /// warehouses give it a JSON column, not text.
    Json,
    /// A list of non-null items (`[T!]`).
    List(&'static Ty),
    /// A nested object and the fields selected from it.
    Object(&'static [Field]),
    /// A union (selected with `__typename` and one fragment per member).
    Union(&'static [Member]),
    /// Not selected: a copy of the string at this dotted path of the same
    /// record (`customer.id`), for a nested key made top-level (runners
    /// such as PyAirbyte take only top-level keys).
    From(&'static str),
}

/// One object type of a union and the fields selected from it.
#[derive(Debug)]
pub struct Member {
    pub type_name: &'static str,
    pub fields: &'static [Field],
}

/// A field that is never null.
pub const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        nullable: false,
        args: "",
    }
}

/// A field that may be null.
pub const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        nullable: true,
        args: "",
    }
}

impl Field {
    /// The field sent with `args`, e.g. `"(filter: {})"`.
    pub const fn with_args(self, args: &'static str) -> Field {
        Field { args, ..self }
    }
}

impl StreamDef {
    pub fn connection(&self) -> Option<&Connection> {
        match &self.read {
            Read::Connection(connection) => Some(connection),
            Read::List { .. } => None,
        }
    }

    pub fn incremental(&self) -> Option<&Incremental> {
        self.connection()?.incremental.as_ref()
    }

    /// The order rows can be paged, filtered and resumed in: a connection's.
    /// A plain list has none (it is read whole, in one response).
    pub fn order(&self) -> Option<Order> {
        self.connection().map(|c| c.full_refresh_order)
    }

    pub fn supports_incremental(&self) -> bool {
        self.incremental().is_some()
    }

    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The top-level fields every read of this stream needs, whatever
    /// columns are selected: those of its key, order and cursor.
    pub fn key_fields(&self) -> Vec<&'static str> {
        let keys = self.primary_key.iter().map(|k| top_level(k));
        let order = self
            .connection()
            .into_iter()
            .flat_map(|c| c.full_refresh_order.fields());
        let cursor = self
            .incremental()
            .into_iter()
            .flat_map(|i| [i.cursor, i.tie_break]);
        keys.chain(order).chain(cursor).collect()
    }
}

/// The top-level field of a dotted path.
pub fn top_level(path: &'static str) -> &'static str {
    path.split('.').next().unwrap_or(path)
}

impl ChildDef {
    /// The element type of the first source's list (all sources share it).
    pub fn element(&self) -> &'static Ty {
        match self.sources.first().and_then(ChildSource::element) {
            Some(ty) => ty,
            None => &Ty::Object(&[]),
        }
    }

    /// The parents this stream's rows come from, each once, in source order.
    pub fn parents(&self) -> Vec<&'static StreamDef> {
        let mut parents: Vec<&'static StreamDef> = Vec::new();
        for source in self.sources {
            if !parents.iter().any(|p| p.name == source.parent.name) {
                parents.push(source.parent);
            }
        }
        parents
    }
}

impl ChildSource {
    /// The item type of the parent's list field; `None` when the field is
    /// missing or not a list of objects or unions (a declaration error).
    pub fn element(&self) -> Option<&'static Ty> {
        match self.parent.field(self.list)?.ty {
            Ty::List(item @ (Ty::Object(_) | Ty::Union(_))) => Some(item),
            _ => None,
        }
    }
}
