//! Embeds htmx when the pinned npm package is installed (`npm ci` at the repository root);
//! without it the pages still work, as plain forms. Nothing is downloaded here.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let source = manifest.join("../../node_modules/htmx.org/dist/htmx.min.js");
    println!("cargo:rerun-if-changed={}", source.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("htmx.min.js");
    let body = std::fs::read(&source).unwrap_or_else(|_| b"/* htmx is not installed (run `npm ci`); pages work without it. */\n".to_vec());
    if let Err(e) = std::fs::write(&out, body) {
        println!("cargo:warning=cannot write {}: {e}", out.display());
    }
}
