//! A deliberately misbehaving connector for the host's tests. It implements
//! the `connector` world; `read(config, ..)` runs the probe the config's
//! `"probe"` field names and reports each result as a LOG message whose
//! `message` is a JSON object, so a test can parse what the guest saw.
//!
//! Probes: `alloc`, `spin`, `sleep`, `read-file`, `env`, `http`, `emit`, `panic`
//! (see [`probes`]). `allowed-origins` returns the config's `"origins"`; `split-catalog` puts
//! every stream in a catalog of its own.
//!
//! Only the wasm build has content: natively it is an empty crate, so the
//! workspace builds without the wasm target.

#[cfg(target_family = "wasm")]
mod probes;
