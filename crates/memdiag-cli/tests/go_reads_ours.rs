//! What memdiag writes, the real `go tool pprof` reads, with the same figures.

mod common;

use common::*;

fn out_path(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("memdiag-go-reads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p.to_str().unwrap().to_string()
}

/// `go tool pprof -top` body, without the `File:`/`Time:` style headers that
/// name the input.
fn top_body(text: &str) -> String {
    text.lines()
        .filter(|l| {
            !l.starts_with("File:") && !l.starts_with("Time:") && !l.starts_with("Build ID:")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn go_top(go: &std::path::Path, args: &[&str]) -> String {
    let out = go_pprof(go, args);
    assert!(
        out.status.success(),
        "go tool pprof {args:?}: {}",
        stderr(&out)
    );
    top_body(&stdout(&out))
}

#[test]
fn converted_profiles_read_the_same_in_go() {
    let Some(go) = go() else { return };
    for (input, index) in [
        ("testdata/profiles/heap.pb.gz", "inuse_space"),
        ("testdata/profiles/heap.pb.gz", "alloc_objects"),
        ("testdata/profiles/cpu.pb.gz", "cpu"),
    ] {
        let out = out_path("converted.pb.gz");
        let r = memdiag(&["convert", "-o", &out, input]);
        assert!(r.status.success(), "{}", stderr(&r));
        let si = format!("-sample_index={index}");
        assert_eq!(
            go_top(&go, &["-top", &si, &out]),
            go_top(&go, &["-top", &si, input]),
            "{input} {index}"
        );
    }
}

/// Legacy heap text converted to pprof reads in Go like the protobuf profile
/// the Go runtime wrote in the same GC cycle: memdiag names the frames from
/// the text, Go gets the same functions and figures from its own encoder.
#[test]
fn converted_legacy_text_reads_in_go_like_the_runtime_protobuf() {
    let Some(go) = go() else { return };
    for rate in ["4096", "512k"] {
        let text = format!("testdata/profiles/heap_rate{rate}.txt");
        let proto = format!("testdata/profiles/heap_rate{rate}.pb.gz");
        let out = out_path("converted-legacy.pb.gz");
        let r = memdiag(&["convert", "-o", &out, &text]);
        assert!(r.status.success(), "{}", stderr(&r));
        for index in [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space",
        ] {
            let si = format!("-sample_index={index}");
            assert_eq!(
                go_top(&go, &["-top", &si, &out]),
                go_top(&go, &["-top", &si, &proto]),
                "{text} {index}"
            );
        }
    }
}

#[test]
fn merged_profile_reads_in_go_as_go_merges() {
    let Some(go) = go() else { return };
    let inputs = [
        "testdata/profiles/heap.pb.gz",
        "testdata/profiles/heap_base.pb.gz",
    ];
    let out = out_path("merged.pb.gz");
    let r = memdiag(&["merge", "-o", &out, inputs[0], inputs[1]]);
    assert!(r.status.success(), "{}", stderr(&r));
    for index in ["alloc_space", "inuse_objects"] {
        let si = format!("-sample_index={index}");
        assert_eq!(
            go_top(&go, &["-top", &si, &out]),
            go_top(&go, &["-top", &si, inputs[0], inputs[1]]),
            "{index}"
        );
    }
}

#[test]
fn diff_is_top_with_diff_base() {
    let (base, new) = (
        "testdata/profiles/heap_base.pb.gz",
        "testdata/profiles/heap.pb.gz",
    );
    let diff = memdiag(&["diff", "-sample_index=alloc_space", base, new]);
    let top = memdiag(&["top", "-sample_index=alloc_space", "-diff_base", base, new]);
    assert!(diff.status.success(), "{}", stderr(&diff));
    assert_eq!(stdout(&diff), stdout(&top));
}

/// The JSON rows carry the same figures as the text rows, and their flat
/// values add up to the `sum` column (a hand check of the aggregation).
#[test]
fn json_top_agrees_with_text_top() {
    let args = ["testdata/profiles/heap.pb.gz"];
    let text = stdout(&memdiag(&["top", args[0]]));
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&memdiag(&["top", "--json", args[0]]))).unwrap();
    let rows = json["rows"].as_array().unwrap();
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .skip(1)
        .collect();
    assert_eq!(rows.len(), table.len());
    let mut sum = 0;
    for (row, line) in rows.iter().zip(table) {
        sum += row["flat"].as_i64().unwrap();
        assert_eq!(row["sum"].as_i64().unwrap(), sum);
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[0], row["flat_formatted"].as_str().unwrap());
        assert_eq!(cells[3], row["cum_formatted"].as_str().unwrap());
        assert_eq!(cells[5], row["name"].as_str().unwrap());
    }
}
