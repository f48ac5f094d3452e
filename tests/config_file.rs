//! `--config FILE`: flags from a TOML file, the command line replacing what it also gives,
//! `[[path]]` sections applied only under their glob, errors naming the file, line and key
//! with nothing started, and `deploy/tinyhttpd.example.toml` naming every flag.

pub mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{CommandFactory, Parser};
use common::*;
use tinyhttpd::config::{Config, file};

/// Long enough for any start-up failure; a server that starts instead is killed and fails.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

/// A temp dir with a site in `root/` and `tinyhttpd.toml` holding `port = 0`, the loopback
/// address, that root, then `rest`.
struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new(rest: &str) -> Setup {
        let dir = TempDir::new();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).expect("create root");
        let setup = Setup { dir };
        let head = format!(
            "port = 0\nbind = \"127.0.0.1\"\nroot = \"{}\"\n",
            root.display()
        );
        setup.write_config(&(head + rest));
        setup
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("tinyhttpd.toml")
    }

    fn write_config(&self, text: &str) {
        std::fs::write(self.config(), text).expect("write config");
    }

    fn write(&self, rel: &str, contents: &str) {
        write_file_in(&self.root(), rel, contents);
    }

    /// Starts the server with `--config FILE` and then `extra`.
    fn start(&self, extra: &[&str]) -> Server {
        let config = self.config();
        let mut args = vec!["--config", config.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        Server::start_exactly(&args, &self.root())
    }

    /// Runs the binary with `--config FILE`, expecting exit status 2 and an error line that
    /// starts `error: FILE:LINE:` and contains `mention`.
    fn assert_refused(&self, line: usize, mention: &str) {
        let config = self.config();
        let path = config.to_str().expect("utf-8 path");
        let (status, stdout, stderr) = run_to_exit(&["--config", path], EXIT_TIMEOUT);
        assert_eq!(status.code(), Some(2), "stderr: {stderr}");
        assert!(stdout.is_empty(), "nothing starts: {stdout:?}");
        let first = stderr.lines().next().unwrap_or_default();
        let start = format!("error: {path}:{line}: ");
        assert!(first.starts_with(&start), "{start:?} expected: {stderr:?}");
        assert!(first.contains(mention), "{mention:?} expected: {stderr:?}");
    }
}

fn get_with(server: &Server, target: &str, headers: &str) -> Response {
    let mut conn = Conn::connect(server.addr());
    conn.send(format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n"
    ));
    conn.read_response()
}

#[test]
fn a_file_sets_port_root_headers_and_cors() {
    let setup =
        Setup::new("header = [\"X-A: 1\", \"*.css X-Css: yes\"]\ncors = [\"https://a.test\"]\n");
    setup.write("a.txt", "from the file's root");
    setup.write("s.css", "body{}");
    let server = setup.start(&[]);
    assert!(server.listening_line().contains("127.0.0.1"));
    let response = get_with(&server, "/a.txt", "Origin: https://a.test\r\n");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body_text(), "from the file's root");
    assert_eq!(response.header("x-a"), Some("1"));
    assert_eq!(response.header("x-css"), None);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://a.test")
    );
    assert_eq!(server.get("/s.css").header("x-css"), Some("yes"));
}

#[test]
fn the_command_line_replaces_scalars_and_whole_arrays() {
    let setup = Setup::new("index = \"home.html\"\nheader = [\"X-A: 1\", \"X-B: 2\"]\n");
    setup.write("home.html", "home");
    setup.write("main.html", "main");
    let server = setup.start(&[]);
    assert_eq!(server.get("/").body_text(), "home");
    assert_eq!(server.get("/").header("x-b"), Some("2"));
    drop(server);

    let server = setup.start(&["--index", "main.html", "--header", "X-C: 3"]);
    let response = server.get("/");
    assert_eq!(response.body_text(), "main");
    assert_eq!(response.header("x-c"), Some("3"));
    assert_eq!(response.header("x-a"), None, "the file's list is replaced");
    assert_eq!(response.header("x-b"), None, "the file's list is replaced");

    // DIR on the command line replaces the file's `root`.
    let other = TempDir::new();
    write_file_in(other.path(), "index.html", "other root");
    let config = setup.config();
    let server = Server::start_exactly(
        &[
            "--config",
            config.to_str().unwrap(),
            "--index",
            "index.html",
            other.path().to_str().unwrap(),
        ],
        other.path(),
    );
    assert_eq!(server.get("/").body_text(), "other root");
}

#[test]
fn unknown_keys_and_bad_values_name_the_file_line_and_key() {
    let setup = Setup::new("\nprot = 8080\n");
    setup.assert_refused(5, "unknown key `prot`");
    setup.write_config("serve_hidden = true\n");
    setup.assert_refused(1, "did you mean `serve-hidden`?");
    setup.write_config("# a comment\nport = \"x\"\n");
    setup.assert_refused(2, "key `port`");
    setup.write_config("port = 70000\n");
    setup.assert_refused(1, "70000");
    setup.write_config("port = 1\nheader = [\"X-A: 1\",\n  \"X-B: \\u0001\"]\n");
    setup.assert_refused(3, "key `header`");
    setup.write_config("autoindex = \"yes\"\n");
    setup.assert_refused(1, "key `autoindex`: expected true or false");
    setup.write_config("port = [1]\n");
    setup.assert_refused(1, "key `port`: expected a string or an integer");
    setup.write_config("port = 1\nport = 2\n");
    setup.assert_refused(2, "duplicate key");
    setup.write_config("config = \"other.toml\"\n");
    setup.assert_refused(1, "`config` cannot be set");
    setup.write_config("[[path]]\nglob = \"/a\"\nheaders = [\"X: 1\"]\n");
    setup.assert_refused(3, "unknown key `headers`");
}

#[test]
fn a_bad_glob_is_refused() {
    let setup = Setup::new("[[path]]\nglob = \"assets/**\"\nheader = \"X-A: 1\"\n");
    setup.assert_refused(5, "key `glob`");
    setup.write_config("[[path]]\nheader = \"X-A: 1\"\n");
    setup.assert_refused(1, "needs a `glob`");
}

#[test]
fn a_missing_file_is_a_usage_error_naming_it() {
    let (status, stdout, stderr) =
        run_to_exit(&["--config", "/nonexistent/tiny.toml"], EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(2), "stderr: {stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("error: /nonexistent/tiny.toml: "),
        "{stderr:?}"
    );
}

#[test]
fn path_sections_apply_only_under_their_glob() {
    let setup = Setup::new(
        "[[path]]\nglob = \"/assets/**\"\n\
         cache-control = \"max-age=60\"\nheader = [\"X-Asset: yes\"]\n",
    );
    setup.write("assets/deep/a.css", "a");
    setup.write("b.css", "b");
    let server = setup.start(&[]);
    let inside = server.get("/assets/deep/a.css");
    assert_eq!(inside.status, 200, "{}", inside.summary());
    assert_eq!(inside.header("cache-control"), Some("max-age=60"));
    assert_eq!(inside.header("x-asset"), Some("yes"));
    let outside = server.get("/b.css");
    assert_eq!(outside.status, 200, "{}", outside.summary());
    assert_eq!(outside.header("cache-control"), None);
    assert_eq!(outside.header("x-asset"), None);
}

#[test]
fn path_sections_protect_a_prefix_glob_only() {
    let setup = Setup::new("");
    let htpasswd = setup.dir.path().join("htpasswd");
    let hash = bcrypt::hash("wonderland", 4).expect("bcrypt");
    std::fs::write(&htpasswd, format!("alice:{hash}\n")).expect("write htpasswd");
    let head = format!(
        "port = 0\nbind = \"127.0.0.1\"\nroot = \"{}\"\nauth-file = \"{}\"\n",
        setup.root().display(),
        htpasswd.display()
    );
    setup.write_config(&format!(
        "{head}[[path]]\nglob = \"/private/**\"\nauth = true\n"
    ));
    setup.write("private/x.txt", "secret");
    setup.write("public.txt", "open");
    let server = setup.start(&[]);
    assert_eq!(server.get("/private/x.txt").status, 401);
    assert_eq!(server.get("/public.txt").status, 200);
    drop(server);

    setup.write_config(&format!("{head}[[path]]\nglob = \"*.txt\"\nauth = true\n"));
    setup.assert_refused(7, "key `auth`: only a prefix glob");
    setup.write_config(&format!(
        "{head}[[path]]\nglob = \"/a/**\"\nfallback = \"/i.html\"\n"
    ));
    setup.assert_refused(7, "key `fallback`: only glob = \"/**\"");
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/tinyhttpd.example.toml")
}

/// The keys commented out in the example (`# key = value`), before its `[[path]]` sections.
fn example_keys(text: &str) -> BTreeSet<String> {
    text.lines()
        .take_while(|line| !line.starts_with("# [[path]]"))
        .filter_map(|line| line.strip_prefix("# ")?.split_once(" = "))
        .map(|(key, _)| key.to_string())
        .collect()
}

#[test]
fn the_example_names_every_flag_and_only_flags() {
    let text = std::fs::read_to_string(example()).expect("read the example");
    let flags: BTreeSet<String> = Config::command()
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .filter(|&long| long != "config")
        .map(str::to_string)
        .collect();
    let keys = example_keys(&text);
    let missing: Vec<_> = flags.difference(&keys).collect();
    let unknown: Vec<_> = keys.difference(&flags).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "tinyhttpd.example.toml lacks {missing:?} and names {unknown:?}, which are not flags"
    );
}

#[test]
fn the_example_with_every_key_uncommented_is_valid() {
    let text = std::fs::read_to_string(example()).expect("read the example");
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if rest.contains(" = ") || rest.starts_with("[[path]]") => rest,
            _ => "",
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let dir = TempDir::new();
    let path = dir.path().join("all.toml");
    std::fs::write(&path, &uncommented).expect("write");
    let cli = ["tinyhttpd", "--config", path.to_str().unwrap()].map(Into::into);
    let args = file::with_file(cli.to_vec(), &Config::command())
        .unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    Config::try_parse_from(args)
        .and_then(Config::checked)
        .unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
}
