//! What a figure source of `cargo xtask bench` takes and gives, apart from the bench runner itself, so the
//! steps that measure (`kotlin.rs`, `size.rs`, ...) depend on these two types and the runner (`bench.rs`)
//! depends on them: the arrows point one way.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Named figures: name (with its unit) → value.
pub type Figures = BTreeMap<String, f64>;

/// What a source gets: the effort and where to put its files.
pub struct Ctx {
    /// `--quick`: the whole run stays under a minute (after the build).
    pub quick: bool,
    /// `target/bench/` of the workspace.
    pub out_dir: PathBuf,
}
