//! `go tool pprof` spells long flags with one dash (`-sample_index=alloc_space`).
//! clap only knows `--long`, so such arguments are rewritten before parsing.
//! This is the one piece of argument handling written by hand: clap has no
//! single-dash long option mode.

/// Rewrites `-name` / `-name=value` into `--name` / `--name=value` when `name`
/// is one of `long_names`; everything else passes through untouched.
pub fn normalize(args: impl IntoIterator<Item = String>, long_names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut after_separator = false;
    for arg in args {
        if after_separator || arg == "--" {
            after_separator = true;
            out.push(arg);
            continue;
        }
        let rewritten = arg
            .strip_prefix('-')
            .filter(|rest| !rest.starts_with('-'))
            .filter(|rest| {
                let name = rest.split('=').next().unwrap_or("");
                name.len() > 1 && long_names.contains(&name)
            })
            .map(|rest| format!("--{rest}"));
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    fn run(args: &[&str]) -> Vec<String> {
        normalize(
            args.iter().map(|s| s.to_string()),
            &["sample_index", "focus", "cum"],
        )
    }

    #[test]
    fn rewrites_known_single_dash_long_flags() {
        assert_eq!(
            run(&[
                "top",
                "-sample_index=alloc_space",
                "-focus",
                "main",
                "-cum",
                "f"
            ]),
            [
                "top",
                "--sample_index=alloc_space",
                "--focus",
                "main",
                "--cum",
                "f"
            ]
        );
    }

    #[test]
    fn leaves_short_unknown_and_positional_arguments_alone() {
        assert_eq!(
            run(&["-o", "-x", "--focus=a", "-nodecount", "--", "-cum"]),
            ["-o", "-x", "--focus=a", "-nodecount", "--", "-cum"]
        );
    }
}
