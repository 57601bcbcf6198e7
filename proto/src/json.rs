//! How messages that are written as JSON (a settlement: see `build.rs`) write their fields.
#![warn(unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::as_conversions)]

use serde::Serializer;

/// An empty string as `null`: an id or a word a message may not have.
pub fn empty_as_null<T: AsRef<str>, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value.as_ref() {
        "" => serializer.serialize_none(),
        text => serializer.serialize_some(text),
    }
}
