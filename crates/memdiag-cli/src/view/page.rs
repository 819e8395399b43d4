//! The page: `assets/app.html` with its CSS and JS inlined, and for a
//! report, the view as JSON in `<script id="data">`. No build step, no
//! external resources: the page works offline and from a file.

use anyhow::{Context, Result};

use super::View;

const HTML: &str = include_str!("../../assets/app.html");
const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

/// The self-contained report page showing `view`.
pub fn report_page(view: &View) -> Result<String> {
    let json = serde_json::to_string(view).context("encoding the view as JSON")?;
    let data = format!(
        "<script id=\"data\" type=\"application/json\">{}</script>",
        escape_script(&json)
    );
    Ok(assemble(&data))
}

/// The page `web` serves: it fetches its view from the server.
pub fn web_page() -> String {
    assemble("")
}

/// JSON safe inside a `<script>` element: `<` only occurs in JSON strings,
/// where `\u003c` means the same, so no `</script>` or `<!--` can end or
/// confuse the element.
fn escape_script(json: &str) -> String {
    json.replace('<', "\\u003c")
}

/// Fills the template's three slots in one pass, so text inside the CSS, JS
/// or data that looks like a slot is left alone.
fn assemble(data: &str) -> String {
    let mut out = String::with_capacity(HTML.len() + CSS.len() + JS.len() + data.len());
    let mut rest = HTML;
    for (slot, value) in [("{{CSS}}", CSS), ("{{DATA}}", data), ("{{JS}}", JS)] {
        // A unit test checks that the template has each slot once.
        if let Some((before, after)) = rest.split_once(slot) {
            out.push_str(before);
            out.push_str(value);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_cannot_end_their_element_early() {
        assert!(!JS.contains("</script"));
        assert!(!CSS.contains("</style"));
        for slot in ["{{CSS}}", "{{DATA}}", "{{JS}}"] {
            assert_eq!(HTML.matches(slot).count(), 1, "{slot}");
        }
    }

    #[test]
    fn embedded_json_stays_inside_its_script() {
        let json = r#"{"name":"</script><script>alert(1)</script><!--"}"#;
        let escaped = escape_script(json);
        assert!(!escaped.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back["name"], "</script><script>alert(1)</script><!--");
    }

    #[test]
    fn pages_have_every_slot_filled() {
        let page = web_page();
        assert!(!page.contains("{{"));
        assert!(!page.contains("id=\"data\""));
    }
}
