//! The `ri-load` command line: goose's options are there beside ours, and a bad mode is
//! refused before anything is sent. (Also makes `cargo test` build the binary, which
//! deploy/local/test.sh's smoke run then uses as it is.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::process::Command;

fn ri_load(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ri-load"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_attack_takes_goose_options_and_ours() {
    let help = ri_load(&["attack", "--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for option in [
        "--manifest",
        "--open-loop-rate",
        "--subscribers",
        "--co-mitigation",
        "--report-file",
        "--users",
        "--throttle-requests",
    ] {
        assert!(text.contains(option), "{option} missing from:\n{text}");
    }
}

#[test]
fn an_unknown_mode_is_refused_before_any_request() {
    // Port 9 (discard) is never a Regional Invest service: had a request been sent, the
    // error would be a connection error, not the mode's.
    let out = ri_load(&[
        "populate",
        "--url",
        "http://127.0.0.1:9",
        "--mode",
        "huge",
        "--manifest",
        "/nonexistent/manifest.json",
        "--token-command",
        "/nonexistent/regional-invest",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown mode \"huge\""), "{stderr}");
}
