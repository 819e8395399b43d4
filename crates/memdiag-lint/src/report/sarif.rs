//! SARIF 2.1.0 for code scanning: one run, `tool.driver.rules` listing every
//! rule with its help, and one result per finding with a physical location.

use super::Report;
use crate::rules;
use serde_json::{json, Value};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

impl Report {
    pub fn render_sarif(&self) -> String {
        let rules: Vec<Value> = rules::all()
            .map(|r| {
                json!({
                    "id": r.id,
                    "name": r.id,
                    "shortDescription": { "text": r.summary },
                    "help": { "text": r.help },
                    "defaultConfiguration": { "level": "warning" },
                })
            })
            .collect();
        let index = |id: &str| rules::all().position(|r| r.id == id).unwrap_or(0);
        let results: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "ruleId": f.rule,
                    "ruleIndex": index(f.rule),
                    "level": "warning",
                    "message": { "text": format!("{} (help: {})", f.message, f.help) },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri(&f.path) },
                            "region": {
                                "startLine": f.line,
                                "startColumn": f.column,
                                "endLine": f.end_line,
                                "endColumn": f.end_column,
                            }
                        }
                    }],
                })
            })
            .collect();
        let notifications: Vec<Value> = self
            .warnings
            .iter()
            .map(|w| {
                json!({
                    "level": "warning",
                    "message": { "text": w.message },
                    "locations": [{ "physicalLocation": { "artifactLocation": { "uri": uri(&w.path) } } }],
                })
            })
            .collect();
        let sarif = json!({
            "$schema": SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "memdiag-lint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "columnKind": "unicodeCodePoints",
                "results": results,
                "invocations": [{
                    "executionSuccessful": true,
                    "toolExecutionNotifications": notifications,
                }],
            }],
        });
        serde_json::to_string_pretty(&sarif).unwrap_or_default()
    }
}

/// A relative URI with forward slashes, as code-scanning services expect.
fn uri(path: &std::path::Path) -> String {
    let p = path.to_string_lossy().replace('\\', "/");
    p.strip_prefix("./").unwrap_or(&p).to_string()
}
