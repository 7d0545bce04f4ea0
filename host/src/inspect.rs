//! `host inspect`: a component's imports (the capabilities it asks for) and
//! exports, from its compiled type, so an operator can review it before
//! running it. Nothing is instantiated or run.

use std::fmt::Write as _;

use serde::Serialize;
use wasmtime::component::types::{self, ComponentFunc, ComponentItem, ResourceType, Type};
use wasmtime::Engine;

use crate::cache::{ComponentCache, Log};
use crate::runtime::{self, ComponentSource};

/// A component's imports and exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    pub imports: Vec<Item>,
    pub exports: Vec<Item>,
}

/// One named import or export; an instance (an interface) lists its items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub name: String,
    pub kind: Kind,
    /// WIT-like text: `func(a: string) -> result<_, string>` for a function,
    /// the definition (`record { .. }`) for a type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Instance,
    Func,
    Type,
    Resource,
    Component,
    Module,
    CoreFunc,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::Func => "func",
            Self::Type => "type",
            Self::Resource => "resource",
            Self::Component => "component",
            Self::Module => "module",
            Self::CoreFunc => "core func",
        }
    }
}

/// Compiles (or loads from `cache`) the component and lists its imports and
/// exports.
pub fn inspect(
    source: ComponentSource<'_>,
    cache: Option<&ComponentCache>,
    log: Log<'_>,
) -> anyhow::Result<Inventory> {
    let engine = runtime::engine()?;
    let component = runtime::load_component(&engine, source, cache, log)?;
    Ok(describe(&engine, &component.component_type()))
}

/// The inventory of a component type.
pub fn describe(engine: &Engine, ty: &types::Component) -> Inventory {
    let imports: Vec<_> = ty.imports(engine).map(|(n, e)| (n, e.ty)).collect();
    let exports: Vec<_> = ty.exports(engine).map(|(n, e)| (n, e.ty)).collect();
    // Names first, so any signature can use a type named anywhere.
    let mut names = Names::default();
    for (_, item) in imports.iter().chain(&exports) {
        names.collect(engine, item);
    }
    let items = |list: &[(&str, ComponentItem)]| {
        list.iter()
            .map(|(name, item)| describe_item(engine, &names, name, item))
            .collect()
    };
    Inventory {
        imports: items(&imports),
        exports: items(&exports),
    }
}

impl Inventory {
    /// The text `host inspect` prints.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (title, list) in [
            ("imports (what the component may call)", &self.imports),
            ("exports (what the host may call)", &self.exports),
        ] {
            let _ = writeln!(out, "{title}:");
            if list.is_empty() {
                let _ = writeln!(out, "  (none)");
            }
            for item in list {
                write_item(&mut out, item, 1);
            }
        }
        out
    }
}

fn write_item(out: &mut String, item: &Item, depth: usize) {
    let indent = "  ".repeat(depth);
    let _ = match (&item.kind, &item.signature) {
        (Kind::Func | Kind::Type, Some(signature)) => {
            writeln!(out, "{indent}{}: {signature}", item.name)
        }
        (kind, _) => writeln!(out, "{indent}{} {}", kind.as_str(), item.name),
    };
    for inner in &item.items {
        write_item(out, inner, depth + 1);
    }
}

fn describe_item(engine: &Engine, names: &Names, name: &str, item: &ComponentItem) -> Item {
    let (kind, signature, items) = match item {
        ComponentItem::ComponentInstance(instance) => (
            Kind::Instance,
            None,
            instance
                .exports(engine)
                .map(|(n, e)| describe_item(engine, names, n, &e.ty))
                .collect(),
        ),
        ComponentItem::ComponentFunc(func) => (Kind::Func, Some(names.func(func)), Vec::new()),
        ComponentItem::Type(ty) => (Kind::Type, Some(names.definition(ty)), Vec::new()),
        ComponentItem::Resource(_) => (Kind::Resource, None, Vec::new()),
        ComponentItem::Component(_) => (Kind::Component, None, Vec::new()),
        ComponentItem::Module(_) => (Kind::Module, None, Vec::new()),
        ComponentItem::CoreFunc(_) => (Kind::CoreFunc, None, Vec::new()),
    };
    Item {
        name: name.to_string(),
        kind,
        signature,
        items,
    }
}

/// Records the first name seen for a type.
fn add<T: PartialEq>(names: &mut Vec<(T, String)>, ty: T, name: &str) {
    if !names.iter().any(|(t, _)| *t == ty) {
        names.push((ty, name.to_string()));
    }
}

/// The names interfaces give their resources and compound types, to print
/// `request` rather than its whole structure. Types are compared
/// structurally, so a same-shaped type elsewhere shares the first name seen.
#[derive(Default)]
struct Names {
    resources: Vec<(ResourceType, String)>,
    types: Vec<(Type, String)>,
}

impl Names {
    fn collect(&mut self, engine: &Engine, item: &ComponentItem) {
        let ComponentItem::ComponentInstance(instance) = item else {
            return;
        };
        for (name, export) in instance.exports(engine) {
            match export.ty {
                ComponentItem::Resource(resource) => {
                    add(&mut self.resources, resource, name);
                }
                // Aliases of strings and numbers stay unnamed: `u64` is not
                // always a `timestamp`.
                ComponentItem::Type(
                    ty @ (Type::Record(_) | Type::Variant(_) | Type::Enum(_) | Type::Flags(_)),
                ) => add(&mut self.types, ty, name),
                _ => {}
            }
        }
    }

    fn func(&self, func: &ComponentFunc) -> String {
        let params: Vec<String> = func
            .params()
            .map(|(name, ty)| format!("{name}: {}", self.ty(&ty)))
            .collect();
        let results: Vec<String> = func.results().map(|ty| self.ty(&ty)).collect();
        let prefix = if func.async_() { "async func" } else { "func" };
        let mut text = format!("{prefix}({})", params.join(", "));
        match results.len() {
            0 => {}
            1 => {
                let _ = write!(text, " -> {}", results[0]);
            }
            _ => {
                let _ = write!(text, " -> ({})", results.join(", "));
            }
        }
        text
    }

    /// A type by name when it has one, otherwise its structure.
    fn ty(&self, ty: &Type) -> String {
        match self.types.iter().find(|(t, _)| t == ty) {
            Some((_, name)) => name.clone(),
            None => self.definition(ty),
        }
    }

    /// A type's structure, its parts by name.
    fn definition(&self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::S8 => "s8".into(),
            Type::U8 => "u8".into(),
            Type::S16 => "s16".into(),
            Type::U16 => "u16".into(),
            Type::S32 => "s32".into(),
            Type::U32 => "u32".into(),
            Type::S64 => "s64".into(),
            Type::U64 => "u64".into(),
            Type::Float32 => "f32".into(),
            Type::Float64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "error-context".into(),
            Type::List(list) => format!("list<{}>", self.ty(&list.ty())),
            Type::FixedLengthList(list) => format!("list<{}, {}>", self.ty(&list.ty()), list.len()),
            Type::Map(map) => format!("map<{}, {}>", self.ty(&map.key()), self.ty(&map.value())),
            Type::Option(option) => format!("option<{}>", self.ty(&option.ty())),
            Type::Result(result) => match (result.ok(), result.err()) {
                (None, None) => "result".into(),
                (Some(ok), None) => format!("result<{}>", self.ty(&ok)),
                (None, Some(err)) => format!("result<_, {}>", self.ty(&err)),
                (Some(ok), Some(err)) => format!("result<{}, {}>", self.ty(&ok), self.ty(&err)),
            },
            Type::Tuple(tuple) => {
                let parts: Vec<String> = tuple.types().map(|t| self.ty(&t)).collect();
                format!("tuple<{}>", parts.join(", "))
            }
            Type::Record(record) => {
                let fields: Vec<String> = record
                    .fields()
                    .map(|f| format!("{}: {}", f.name, self.ty(&f.ty)))
                    .collect();
                format!("record {{ {} }}", fields.join(", "))
            }
            Type::Variant(variant) => {
                let cases: Vec<String> = variant
                    .cases()
                    .map(|c| match c.ty {
                        Some(ty) => format!("{}({})", c.name, self.ty(&ty)),
                        None => c.name.to_string(),
                    })
                    .collect();
                format!("variant {{ {} }}", cases.join(", "))
            }
            Type::Enum(e) => format!("enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
            Type::Flags(f) => format!("flags {{ {} }}", f.names().collect::<Vec<_>>().join(", ")),
            Type::Own(resource) => self.resource(resource),
            Type::Borrow(resource) => format!("borrow<{}>", self.resource(resource)),
            Type::Future(future) => match future.ty() {
                Some(ty) => format!("future<{}>", self.ty(&ty)),
                None => "future".into(),
            },
            Type::Stream(stream) => match stream.ty() {
                Some(ty) => format!("stream<{}>", self.ty(&ty)),
                None => "stream".into(),
            },
        }
    }

    fn resource(&self, resource: &ResourceType) -> String {
        self.resources
            .iter()
            .find(|(r, _)| r == resource)
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| "resource".into())
    }
}
