//! The search spaces shipped inside the binary, and loading a space by name or path.

use super::{FileError, SearchSpace, parse_space};

/// The shipped spaces: name and the text of `search-spaces/NAME.toml`.
pub const SHIPPED_SPACES: &[(&str, &str)] = &[
    (
        "mobilenetv2-tiny",
        include_str!("../../search-spaces/mobilenetv2-tiny.toml"),
    ),
    ("ds-cnn", include_str!("../../search-spaces/ds-cnn.toml")),
    (
        "resnet-tiny",
        include_str!("../../search-spaces/resnet-tiny.toml"),
    ),
    ("kws", include_str!("../../search-spaces/kws.toml")),
    ("mlp", include_str!("../../search-spaces/mlp.toml")),
    ("nb201", include_str!("../../search-spaces/nb201.toml")),
    (
        "mobilenetv1-vww",
        include_str!("../../search-spaces/mobilenetv1-vww.toml"),
    ),
];

/// Loads a space from a file path, or by the name of a shipped space.
pub fn load_space(name_or_path: &str) -> Result<SearchSpace, FileError> {
    let (text, source) =
        crate::shipped::read_named(name_or_path, SHIPPED_SPACES, "search-spaces", "space")?;
    parse_space(&text, &source)
}
