//! Streams and an API for the engine's own tests (unit and property tests):
//! shaped like typical connections, named like nothing in particular.

use crate::api::Api;
use crate::pace::RateLimits;
use crate::stream::{
    by, opt, req, Activity, Answer, ChildDef, ChildSource, Connection, Field, Incremental,
    IncrementalPaging, KeyColumn, KeyForm, LogEntries, Member, Order, ParentActivity, PerParentDef,
    Read, StreamDef, Ty::*,
};

/// Incremental on `updatedAt`; `createdAt` may be null.
pub const CUSTOMERS: StreamDef = StreamDef {
    name: "customers",
    root_field: "customers",
    read: Read::Connection(Connection {
        filter_type: "CustomerFilter",
        sort_type: "CustomerSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: Some(Incremental {
            cursor: "updatedAt",
            tie_break: "id",
            paging: IncrementalPaging::Keyset,
            deletes: Some(LogEntries {
                log: &EVENTS,
                filter: r#"{"type": {"eq": "CUSTOMER_DELETED"}}"#,
                field: "entityId",
                form: KeyForm::Uuid,
            }),
        }),
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("customerId", String),
        opt("name", String),
        opt("createdAt", DateTime),
        req("updatedAt", DateTime),
        opt("additionalMetaData", Json),
        req("totalActiveSubscription", Float),
    ],
};

/// Full refresh only, ordered by creation time, then another key.
pub const SUBSCRIPTIONS: StreamDef = StreamDef {
    name: "subscriptions",
    root_field: "subscriptions",
    read: Read::Connection(Connection {
        filter_type: "SubscriptionQueryFilter",
        sort_type: "SubscriptionQuerySort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["subscriptionId"],
        },
        incremental: None,
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("subscriptionId", String),
        opt("createdAt", DateTime),
        req("plan", Object(&[req("id", String), req("refId", String)])),
    ],
};

const MONEY: &[Field] = &[req("amount", Float), req("currency", Enum)];
const PRICE: &[Field] = &[req("id", String), opt("amount", Object(MONEY))];

/// Full refresh only, with lists of objects and of a union.
pub const PLANS: StreamDef = StreamDef {
    name: "plans",
    root_field: "plans",
    read: Read::Connection(Connection {
        filter_type: "PlanFilter",
        sort_type: "PlanSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: None,
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        opt("createdAt", DateTime),
        opt("name", String),
        opt("prices", List(&Object(PRICE))).with_args("(filter: {})"),
        opt("overagePrices", List(&Object(PRICE))),
        opt(
            "grants",
            List(&Union(&[
                Member {
                    type_name: "UnitGrant",
                    fields: &[req("id", String), req("units", Float)],
                },
                Member {
                    type_name: "CreditGrant",
                    fields: &[req("id", String), req("credits", Float)],
                },
            ])),
        ),
    ],
};

/// The plans' prices, base and overage.
pub const PRICES: ChildDef = ChildDef {
    name: "plan_prices",
    parent_key: "plan_id",
    primary_key: &["id"],
    sources: &[
        ChildSource {
            parent: &PLANS,
            list: "prices",
            tags: &[("price_group", "BASE")],
        },
        ChildSource {
            parent: &PLANS,
            list: "overagePrices",
            tags: &[("price_group", "OVERAGE")],
        },
    ],
};

/// A plain list, archived rows asked for explicitly.
pub const CURRENCIES: StreamDef = StreamDef {
    name: "currencies",
    root_field: "currencies",
    read: Read::List {
        args: "(input: {status: [ACTIVE, ARCHIVED]})",
    },
    primary_key: &["id"],
    fields: &[req("id", String), opt("symbol", String)],
};

/// Keyed by a field and a nested field: no id of its own.
pub const RESOURCES: StreamDef = StreamDef {
    name: "resources",
    root_field: "resources",
    read: Read::Connection(Connection {
        filter_type: "ResourceFilter",
        sort_type: "ResourceSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["resourceId"],
        },
        incremental: None,
    }),
    primary_key: &["resourceId", "customer_id"],
    fields: &[
        req("resourceId", String),
        req("createdAt", DateTime),
        req("customer", Object(&[req("id", String)])),
        req("customer_id", From("customer.id")),
    ],
};

/// Append-only, filterable by `gte` only, with no `totalCount`.
pub const EVENTS: StreamDef = StreamDef {
    name: "events",
    root_field: "events",
    read: Read::Connection(Connection {
        filter_type: "EventFilter",
        sort_type: "EventSort",
        total_count: false,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: Some(Incremental {
            cursor: "createdAt",
            tie_break: "id",
            paging: IncrementalPaging::Offset,
            deletes: None,
        }),
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("type", Enum),
        opt("entityId", String),
        opt("parentEntityId", String),
        req("createdAt", DateTime),
        req("payload", Json),
    ],
};

pub const ALL: &[&StreamDef] = &[
    &CUSTOMERS,
    &SUBSCRIPTIONS,
    &PLANS,
    &CURRENCIES,
    &RESOURCES,
    &EVENTS,
];
pub const CHILDREN: &[&ChildDef] = &[&PRICES];

/// Answered one customer at a time.
pub const GRANTS: PerParentDef = PerParentDef {
    name: "grants",
    root_field: "grants",
    argument: "input",
    answer: Answer::Connection,
    input_type: "GrantsInput",
    parent: &CUSTOMERS,
    naming: &by("customerId"),
    primary_key: &["id"],
    key_column: None,
    parent_column: None,
    incremental: Some(ParentActivity {
        cursor: "updatedAt",
        entries: LogEntries {
            log: &EVENTS,
            filter: r#"{"type": {"eq": "GRANT_CHANGED"}}"#,
            field: "parentEntityId",
            form: KeyForm::Uuid,
        },
        parent_key: "id",
    }),
    fields: &[
        req("id", String),
        req("customerId", String),
        req("amount", Float),
        req("updatedAt", DateTime),
    ],
};

/// No id: keyed by a column made of its fields.
pub const LEDGER: PerParentDef = PerParentDef {
    name: "ledger",
    root_field: "ledger",
    argument: "input",
    answer: Answer::Connection,
    input_type: "LedgerInput",
    parent: &CUSTOMERS,
    naming: &by("customerId"),
    primary_key: &["entry_key"],
    key_column: Some(KeyColumn {
        name: "entry_key",
        from: &["grantId", "at", "eventId"],
    }),
    parent_column: None,
    incremental: None,
    fields: &[
        req("grantId", String),
        req("at", String),
        opt("eventId", String),
        req("amount", Float),
    ],
};

pub const PER_PARENT: &[&PerParentDef] = &[&GRANTS, &LEDGER];

/// Subscriptions have no cursor: the events name the changed ones.
pub const ACTIVITY: &[Activity] = &[Activity {
    stream: &SUBSCRIPTIONS,
    entries: LogEntries {
        log: &EVENTS,
        filter: r#"{"type": {"in": ["SUBSCRIPTION_CHANGED"]}}"#,
        field: "entityId",
        form: KeyForm::Uuid,
    },
    by_field: "entityId",
    filter_path: &["id"],
    row_key: "id",
}];

/// An API of those streams.
pub static API: Api = Api {
    name: "Example",
    documentation_url: "https://docs.example.com/graphql",
    default_base_url: "https://api.example.com/graphql",
    key_header: "x-api-key",
    key_description: "An API key.",
    user_agent: "graphql-source-tests",
    check_query: "query Check { customers(paging: {first: 1}) \
        { edges { node { id } } pageInfo { hasNextPage endCursor } } }",
    check_root_field: "customers",
    streams: ALL,
    children: CHILDREN,
    per_parent: PER_PARENT,
    // The engine's fakes answer no introspection.
    introspection: false,
    activity: ACTIVITY,
    // High enough that the engine's tests never wait on pacing.
    rate_limits: RateLimits {
        window_seconds: 60,
        default_limit: 6_000_000,
        per_operation: &[],
        source: "tests",
    },
};

pub fn find(name: &str) -> Option<&'static StreamDef> {
    ALL.iter().copied().find(|s| s.name == name)
}
