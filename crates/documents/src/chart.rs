//! What every chart function returns.

use serde::{Deserialize, Serialize};

/// A rendered chart: the SVG and its text alternative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    /// A complete `<svg>` element, ready to embed inline in HTML (or to hand to the PDF renderer).
    /// It carries `role="img"`, an `aria-labelledby` naming its own `<title>` and `<desc>`, no
    /// `style` attributes and no `<style>` elements, and `width="100%"` with a `viewBox`.
    pub svg: String,
    /// One or a few plain-text sentences saying what the chart shows (also the SVG's `<desc>`).
    pub summary: String,
    /// The data behind the chart, for a `<table>` rendered beside it.
    pub table: DataTable,
}

/// A plain-text table. Every row has exactly as many cells as there are columns. The text is not
/// escaped: render it through the template engine's escaping like any other text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataTable {
    /// A caption for the table, e.g. `PHQ-9 scores`.
    pub caption: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Cells, row by row.
    pub rows: Vec<Vec<String>>,
}

impl DataTable {
    pub(crate) fn new(caption: String, columns: &[&str]) -> Self {
        Self { caption, columns: columns.iter().map(|c| (*c).to_owned()).collect(), rows: Vec::new() }
    }
}
