//! `--config FILE`: the flags, read from a TOML file. Each key is a flag's long name
//! (`port = 8080`, `serve-hidden = true`, the directory served is `root`), a repeatable flag
//! takes an array (`header = ["X-A: 1"]`), and `[[path]]` sections set headers,
//! Cache-Control, authentication and the fallback for the URL paths a glob matches.
//!
//! The file is turned into command-line arguments (`--port=8080`) placed before the real
//! ones, and clap parses the whole list once: a value from the file goes through the same
//! parser as the flag's. Invariants:
//! - Nothing starts half-configured: every key is known and every value passes its flag's
//!   parser before anything else happens, else the error names the file, the line and the
//!   key (`FILE:LINE: unknown key `prot``).
//! - A flag given on the command line replaces all the file gives it, a repeatable flag's
//!   whole list (`[[path]]` rules that map onto it included): no flag is ever given twice.
//! - `false` gives nothing: a switch set in the file cannot be turned off by a flag, as no
//!   flag turns a switch off.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, Command};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::http::glob::Glob;

/// The flag that names the file; it cannot appear in the file it names.
const CONFIG_FLAG: &str = "config";
/// The key of the per-path sections, `[[path]]`.
const PATH_KEY: &str = "path";
/// The positional DIR: on the command line it replaces the file's `root`.
const DIR_ID: &str = "dir";
const ROOT_FLAG: &str = "root";

/// Why the file cannot be used: `FILE:LINE: message`, or `FILE: message` without a line.
#[derive(Debug)]
pub struct FileError {
    file: PathBuf,
    line: Option<usize>,
    message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// The command line `cli` (program name first) with the arguments from its `--config` file,
/// if it names one, inserted before its own. `command` is the flags' clap command.
pub fn with_file(cli: Vec<OsString>, command: &Command) -> Result<Vec<OsString>, FileError> {
    let Some((path, given)) = command_line(&cli, command) else {
        return Ok(cli);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| FileError {
        file: path.clone(),
        line: None,
        message: format!("cannot read the configuration file: {e}"),
    })?;
    let from_file = File {
        path: &path,
        text: &text,
        command,
    }
    .arguments()?;
    let mut cli = cli.into_iter();
    let mut all: Vec<OsString> = cli.next().into_iter().collect();
    all.extend(
        from_file
            .into_iter()
            .filter(|argument| !given.contains(&argument.id))
            .map(|argument| argument.text.into()),
    );
    all.extend(cli);
    Ok(all)
}

/// The file `--config` names and the ids of the flags the command line gives, `DIR` counted
/// as `root`; `None` without `--config`. Errors are left for the real parse to report, so
/// this parse ignores them (it may then see fewer flags, but the real one fails anyway).
fn command_line(cli: &[OsString], command: &Command) -> Option<(PathBuf, Vec<String>)> {
    let matches = command
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(cli)
        .ok()?;
    let path = matches.get_one::<PathBuf>(CONFIG_FLAG)?.clone();
    let given = matches
        .ids()
        .map(|id| id.as_str())
        .filter(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .map(|id| if id == DIR_ID { ROOT_FLAG } else { id }.to_string())
        .collect();
    Some((path, given))
}

/// One argument made from the file: `--long=value` (or `--long` for a switch), the id of
/// its flag, whether that flag takes one value only, and where it came from, for errors.
struct Argument {
    id: String,
    once: bool,
    text: String,
    key: String,
    line: usize,
}

/// A value from the file, as the text a flag takes, and its line.
type Text = (String, usize);

struct File<'a> {
    path: &'a PathBuf,
    text: &'a str,
    command: &'a Command,
}

impl File<'_> {
    /// Every argument the file gives, in the order of its lines.
    fn arguments(&self) -> Result<Vec<Argument>, FileError> {
        let table = DeTable::parse(self.text).map_err(|e| {
            let line = e.span().map_or(1, |span| self.line(span));
            self.error(line, e.message().trim_end().to_string())
        })?;
        let mut out = Vec::new();
        for (key, value) in in_file_order(table.get_ref()) {
            let line = self.line(key.span());
            match key.get_ref().as_ref() {
                PATH_KEY => self.sections(value, &mut out)?,
                key => self.top_level(key, line, value, &mut out)?,
            }
        }
        self.refuse_repeats(&out)?;
        Ok(out)
    }

    /// A top-level key: the flag of the same long name.
    fn top_level(
        &self,
        key: &str,
        line: usize,
        value: &Spanned<DeValue<'_>>,
        out: &mut Vec<Argument>,
    ) -> Result<(), FileError> {
        let arg = self.flag(key, line)?;
        match arg.get_action() {
            ArgAction::SetTrue => match value.get_ref().as_bool() {
                Some(true) => self.push(arg, key, format!("--{key}"), line, out),
                Some(false) => Ok(()),
                None => Err(self.wrong_type(key, value, "true or false")),
            },
            ArgAction::Set => {
                let (text, line) = self.scalar(key, value)?;
                self.push(arg, key, format!("--{key}={text}"), line, out)
            }
            ArgAction::Append => {
                for (text, line) in self.list(key, value)? {
                    self.push(arg, key, format!("--{key}={text}"), line, out)?;
                }
                Ok(())
            }
            _ => Err(self.error(line, format!("`{key}` cannot be set in a file"))),
        }
    }

    /// `[[path]]`: an array of tables, each with a `glob`.
    fn sections(
        &self,
        value: &Spanned<DeValue<'_>>,
        out: &mut Vec<Argument>,
    ) -> Result<(), FileError> {
        let Some(sections) = value.get_ref().as_array() else {
            return Err(self.wrong_type(PATH_KEY, value, "[[path]] sections"));
        };
        for section in sections {
            let Some(table) = section.get_ref().as_table() else {
                return Err(self.wrong_type(PATH_KEY, section, "[[path]] sections"));
            };
            let Some(glob) = table.get("glob") else {
                let message = "a [[path]] section needs a `glob`".to_string();
                return Err(self.error(self.line(section.span()), message));
            };
            let (glob, line) = self.scalar("glob", glob)?;
            Glob::parse(&glob).map_err(|e| self.error(line, format!("key `glob`: {e}")))?;
            for (key, value) in in_file_order(table) {
                let line = self.line(key.span());
                self.section_key(&glob, key.get_ref(), line, value, out)?;
            }
        }
        Ok(())
    }

    /// One key of a `[[path]]` section, mapped onto the flag that does the same for a glob:
    /// `header` and `cache-control` become `--header 'GLOB Name: value'`; `auth = true`
    /// becomes `--auth-path PREFIX`, so the glob must be a prefix (`/private/**`);
    /// `fallback` becomes `--fallback`, which is site-wide, so only for `glob = "/**"`.
    fn section_key(
        &self,
        glob: &str,
        key: &str,
        line: usize,
        value: &Spanned<DeValue<'_>>,
        out: &mut Vec<Argument>,
    ) -> Result<(), FileError> {
        let flag = |long| {
            self.arg(long)
                .ok_or_else(|| self.error(line, format!("no --{long}")))
        };
        match key {
            "glob" => Ok(()),
            "header" => {
                for (text, line) in self.list(key, value)? {
                    let rule = format!("--header={glob} {text}");
                    self.push(flag("header")?, key, rule, line, out)?;
                }
                Ok(())
            }
            "cache-control" => {
                let (text, line) = self.scalar(key, value)?;
                let rule = format!("--header={glob} Cache-Control: {text}");
                self.push(flag("header")?, key, rule, line, out)
            }
            "auth" => match (value.get_ref().as_bool(), auth_prefix(glob)) {
                (Some(true), Some(prefix)) => {
                    let text = format!("--auth-path={prefix}");
                    self.push(flag("auth-path")?, key, text, line, out)
                }
                (Some(true), None) => Err(self.error(
                    line,
                    format!(
                        "key `auth`: only a prefix glob such as /private/** can be protected \
                         (as --auth-path protects prefixes), not {glob}"
                    ),
                )),
                (Some(false), _) => Err(self.error(
                    line,
                    "key `auth`: false cannot exempt paths from --auth-file; leave it out"
                        .to_string(),
                )),
                (None, _) => Err(self.wrong_type(key, value, "true or false")),
            },
            "fallback" if glob == "/**" => {
                let (text, line) = self.scalar(key, value)?;
                self.push(
                    flag("fallback")?,
                    key,
                    format!("--fallback={text}"),
                    line,
                    out,
                )
            }
            "fallback" => Err(self.error(
                line,
                format!(
                    "key `fallback`: only glob = \"/**\" can have one (it is site-wide), \
                     not {glob}"
                ),
            )),
            _ => Err(self.error(
                line,
                format!(
                    "unknown key `{key}` in a [[path]] section \
                     (glob, header, cache-control, auth, fallback)"
                ),
            )),
        }
    }

    /// The flag whose long name is `key`.
    fn flag(&self, key: &str, line: usize) -> Result<&Arg, FileError> {
        if key == CONFIG_FLAG {
            let message = "`config` cannot be set in a configuration file".to_string();
            return Err(self.error(line, message));
        }
        if let Some(arg) = self.arg(key) {
            return Ok(arg);
        }
        let dashed = key.replace('_', "-");
        let hint = match self.arg(&dashed) {
            Some(_) if dashed != key => format!(" (did you mean `{dashed}`?)"),
            _ => String::new(),
        };
        Err(self.error(line, format!("unknown key `{key}`{hint}")))
    }

    /// The flag `--long`.
    fn arg(&self, long: &str) -> Option<&Arg> {
        self.command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(long))
    }

    /// Checks `text` (`--long=value`) with the flag's own parser, then adds it.
    fn push(
        &self,
        arg: &Arg,
        key: &str,
        text: String,
        line: usize,
        out: &mut Vec<Argument>,
    ) -> Result<(), FileError> {
        let program = OsStr::new(self.command.get_name());
        match self
            .command
            .clone()
            .try_get_matches_from([program, OsStr::new(&text)])
        {
            // What another flag must or must not be is checked with all of them, later.
            Err(e)
                if !matches!(
                    e.kind(),
                    ErrorKind::MissingRequiredArgument | ErrorKind::ArgumentConflict
                ) =>
            {
                let message = e.to_string();
                let first = message.lines().next().unwrap_or_default();
                let first = first.strip_prefix("error: ").unwrap_or(first);
                Err(self.error(line, format!("key `{key}`: {first}")))
            }
            _ => {
                out.push(Argument {
                    id: arg.get_id().to_string(),
                    once: matches!(arg.get_action(), ArgAction::Set | ArgAction::SetTrue),
                    text,
                    key: key.to_string(),
                    line,
                });
                Ok(())
            }
        }
    }

    /// A flag that takes one value, given twice (`fallback` at the top and in a section).
    fn refuse_repeats(&self, arguments: &[Argument]) -> Result<(), FileError> {
        for (i, later) in arguments.iter().enumerate().filter(|(_, a)| a.once) {
            if let Some(earlier) = arguments[..i].iter().find(|a| a.id == later.id) {
                let message = format!(
                    "key `{}`: set twice (also on line {})",
                    later.key, earlier.line
                );
                return Err(self.error(later.line, message));
            }
        }
        Ok(())
    }

    /// One string or integer.
    fn scalar(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<Text, FileError> {
        let line = self.line(value.span());
        match value.get_ref() {
            DeValue::String(text) => Ok((text.to_string(), line)),
            DeValue::Integer(n) => i128::from_str_radix(n.as_str(), n.radix())
                .map(|n| (n.to_string(), line))
                .map_err(|_| self.error(line, format!("key `{key}`: integer out of range"))),
            _ => Err(self.wrong_type(key, value, "a string or an integer")),
        }
    }

    /// An array of strings or integers, or one.
    fn list(&self, key: &str, value: &Spanned<DeValue<'_>>) -> Result<Vec<Text>, FileError> {
        match value.get_ref().as_array() {
            Some(items) => items.iter().map(|item| self.scalar(key, item)).collect(),
            None => Ok(vec![self.scalar(key, value)?]),
        }
    }

    fn wrong_type(&self, key: &str, value: &Spanned<DeValue<'_>>, expected: &str) -> FileError {
        let found = value.get_ref().type_str();
        self.error(
            self.line(value.span()),
            format!("key `{key}`: expected {expected}, found {found}"),
        )
    }

    /// The 1-based line of a byte span's start.
    fn line(&self, span: Range<usize>) -> usize {
        let before = self.text.get(..span.start).unwrap_or(self.text);
        before.bytes().filter(|&b| b == b'\n').count() + 1
    }

    fn error(&self, line: usize, message: String) -> FileError {
        FileError {
            file: self.path.clone(),
            line: Some(line),
            message,
        }
    }
}

/// A table's entries in the order of the file (the parser keeps them sorted by key).
fn in_file_order<'t, 'i>(
    table: &'t DeTable<'i>,
) -> Vec<(
    &'t Spanned<std::borrow::Cow<'i, str>>,
    &'t Spanned<DeValue<'i>>,
)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// The `--auth-path` a glob names when it is a plain prefix: `/private/**` is `/private`,
/// `/**` is `/` (the whole site); any other wildcard has no prefix form.
fn auth_prefix(glob: &str) -> Option<&str> {
    let prefix = glob.strip_suffix("/**")?;
    if prefix.contains(['*', '?']) {
        return None;
    }
    Some(if prefix.is_empty() { "/" } else { prefix })
}

#[cfg(test)]
mod tests {
    use super::auth_prefix;

    #[test]
    fn only_plain_prefix_globs_name_an_auth_path() {
        assert_eq!(auth_prefix("/private/**"), Some("/private"));
        assert_eq!(auth_prefix("/a/b/**"), Some("/a/b"));
        assert_eq!(auth_prefix("/**"), Some("/"));
        for other in [
            "/private",
            "/private/*",
            "/*/x/**",
            "*.css",
            "/a?/**",
            "/**/x",
        ] {
            assert_eq!(auth_prefix(other), None, "{other}");
        }
    }
}
