//! The files in `deploy/`: the systemd units pass `systemd-analyze verify`, and the HAProxy
//! configuration passes `haproxy -c`. Each test says why and passes when its tool is missing,
//! except under CI (`CI` set), where `.ci/run` installs them.

pub mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_tinyhttpd");
/// Where the service unit expects the binary.
const INSTALLED_BIN: &str = "/usr/local/bin/tinyhttpd";

fn deploy(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(file)
}

/// Runs `program` with `args`; `None` (after saying so) if it is not installed.
fn run(program: &str, args: &[&str]) -> Option<Output> {
    match Command::new(program).args(args).output() {
        Ok(output) => Some(output),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{program} cannot run ({e}); .ci/run should have installed it"
            );
            eprintln!("note: {program} cannot run ({e}), test skipped");
            None
        }
    }
}

/// `systemd-analyze verify` checks that every Exec path exists, so the units are checked as
/// copies whose ExecStart names the binary just built instead of the installed path.
#[test]
fn systemd_units_verify() {
    let dir = TempDir::new();
    let mut paths = Vec::new();
    for unit in ["tinyhttpd.service", "tinyhttpd.socket"] {
        let text = std::fs::read_to_string(deploy(unit)).expect("read the unit");
        if unit.ends_with(".service") {
            assert!(
                text.contains(INSTALLED_BIN),
                "ExecStart moved: update this test"
            );
        }
        paths.push(write_file_in(
            dir.path(),
            unit,
            text.replace(INSTALLED_BIN, BIN),
        ));
    }
    let paths: Vec<&str> = paths.iter().map(|p| p.to_str().expect("utf-8")).collect();
    let Some(output) = run(
        "systemd-analyze",
        &["verify", "--man=no", paths[0], paths[1]],
    ) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "systemd-analyze verify: {stderr}");
    assert!(stderr.trim().is_empty(), "warnings: {stderr}");
}

#[test]
fn haproxy_configuration_is_valid() {
    let path = deploy("haproxy.cfg");
    let Some(output) = run("haproxy", &["-c", "-f", path.to_str().expect("utf-8")]) else {
        return;
    };
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "haproxy -c: {all}");
    assert!(!all.contains("WARNING"), "haproxy -c warns: {all}");
}
