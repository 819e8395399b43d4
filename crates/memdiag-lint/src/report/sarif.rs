//! SARIF 2.1.0 for code scanning: one run, `tool.driver.rules` listing every
//! rule with its help, and one result per finding with a physical location
//! (and `relatedLocations` for the finding's related places).

use super::Report;
use crate::finding::Place;
use crate::rules;
use serde_json::{json, Value};
use std::path::Path;

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
                let mut result = json!({
                    "ruleId": f.rule,
                    "ruleIndex": index(f.rule),
                    "level": "warning",
                    "message": { "text": format!("{} (help: {})", f.message, f.help) },
                    "locations": [{
                        "physicalLocation": location(&f.at),
                    }],
                });
                if !f.related.is_empty() {
                    let related: Vec<Value> = f
                        .related
                        .iter()
                        .enumerate()
                        .map(|(id, r)| {
                            json!({
                                "id": id,
                                "message": { "text": r.message },
                                "physicalLocation": location(&r.at),
                            })
                        })
                        .collect();
                    result["relatedLocations"] = Value::Array(related);
                }
                result
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

fn location(at: &Place) -> Value {
    json!({
        "artifactLocation": { "uri": uri(&at.path) },
        "region": {
            "startLine": at.line,
            "startColumn": at.column,
            "endLine": at.end_line,
            "endColumn": at.end_column,
        }
    })
}

/// A relative URI with forward slashes, as code-scanning services expect.
fn uri(path: &Path) -> String {
    let p = path.to_string_lossy().replace('\\', "/");
    p.strip_prefix("./").unwrap_or(&p).to_string()
}
