//! `hookcli export`: captures as hookcli JSON documents, HAR, curl commands or raw bytes.

use super::{filter, stdout, Store};
use crate::cli::{Cli, ExportArgs, ExportFormat, TimeOrder};
use crate::error::Error;
use crate::formats::{curl, document, har};
use crate::render::escape;
use crate::store::model::{sort_by_created, Capture};
use crate::store::query::{self, Order};
use std::io::Write;
use std::path::{Path, PathBuf};

pub(super) fn run(cli: &Cli, args: &ExportArgs) -> Result<(), Error> {
    // `-o -` is stdout, as `-` is for most tools.
    let output = args.output.as_deref().filter(|p| *p != Path::new("-"));
    let store = Store::open(cli)?;
    let mut f = filter(&args.filter, "export");
    f.ids = store.resolve(&args.ids)?;
    let mut captures =
        query::select(&store.conn, &f, Order::OldestFirst, None).map_err(|e| store.err(e))?;
    if captures.is_empty() {
        return Err(store.nothing_found(&f));
    }
    if args.order == TimeOrder::Created {
        sort_by_created(&mut captures);
    }
    let mut bytes = Vec::new();
    match args.format {
        ExportFormat::Json if captures.len() == 1 && !args.json => {
            let text = serde_json::to_string_pretty(&document::to_value(&captures[0]))
                .map_err(std::io::Error::from)?;
            bytes = (escape::json(text) + "\n").into_bytes();
        }
        ExportFormat::Json => {
            for c in &captures {
                let line = crate::render::json::line(&document::to_value(c));
                bytes.extend_from_slice(line.as_bytes());
                bytes.push(b'\n');
            }
        }
        ExportFormat::Har => {
            let har = har::to_value(&captures, args.base_url.as_deref());
            let text = serde_json::to_string_pretty(&har).map_err(std::io::Error::from)?;
            bytes = (escape::json(text) + "\n").into_bytes();
        }
        ExportFormat::Curl => {
            // Every body file is checked before any is written, so a refusal leaves nothing behind.
            let files = captures
                .iter()
                .map(|c| body_file(c, output))
                .collect::<Result<Vec<_>, _>>()?;
            bytes.extend_from_slice(b"#!/bin/sh\n");
            if output.is_some() && files.iter().any(Option::is_some) {
                bytes.extend_from_slice(
                    b"# The body files named below sit next to this script.\ncd -- \"$(dirname -- \"$0\")\" || exit\n",
                );
            }
            for (c, file) in captures.iter().zip(&files) {
                let cmd = curl::command(
                    c,
                    args.base_url.as_deref(),
                    file.as_ref().map(|f| f.reference.as_str()),
                )
                .map_err(Error::Failed)?;
                bytes.extend_from_slice(format!("# capture {}\n{cmd}\n", c.id).as_bytes());
            }
            if let Some(path) = output {
                create_parent(path)?;
            }
            for (c, file) in captures.iter().zip(&files) {
                if let Some(file) = file {
                    file.write(c)?;
                }
            }
        }
        ExportFormat::Raw if captures.len() == 1 => bytes = captures[0].request.body.to_vec(),
        ExportFormat::Raw => {
            return Err(Error::Failed(format!(
                "--format raw writes one body, but {} captures matched; name one id",
                captures.len()
            )))
        }
    }
    match output {
        Some(path) => {
            create_parent(path)?;
            std::fs::write(path, &bytes).map_err(|source| Error::WriteFile {
                path: path.to_path_buf(),
                source,
            })
        }
        None => {
            if args.format == ExportFormat::Raw {
                super::raw_to_terminal(&bytes, "export --format raw")?;
            }
            let mut out = stdout();
            out.write_all(&bytes)?;
            Ok(out.flush()?)
        }
    }
}

/// Create the directories `-o FILE` names but that do not exist yet (`-o repro/c.sh`), so
/// the export and its body files have somewhere to go.
fn create_parent(path: &Path) -> Result<(), Error> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    // "File exists" would not say which part of the path is in the way.
    if let Some(file) = dir.ancestors().find(|a| a.is_file()) {
        return Err(Error::Failed(format!(
            "cannot write {}: {} is a file, not a directory",
            path.display(),
            file.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Where a body that cannot sit inline in a shell command goes.
struct BodyFile {
    /// The file to write.
    path: PathBuf,
    /// How the script names it: relative to the script's directory, or absolute when the
    /// script goes to stdout and so has no directory.
    reference: String,
    /// It already holds exactly this body (an earlier export of the same capture).
    present: bool,
}

impl BodyFile {
    /// Write the body, unless it is already there.
    fn write(&self, c: &Capture) -> Result<(), Error> {
        let shown = self.path.display().to_string();
        if self.present {
            eprintln_lossy!(
                "hookcli: the body of {} is already in {}",
                c.short_id(),
                escape::line(&shown)
            );
            return Ok(());
        }
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(&c.request.body));
        written.map_err(|source| Error::WriteFile {
            path: self.path.clone(),
            source,
        })?;
        eprintln_lossy!(
            "hookcli: wrote the body of {} to {} (it cannot sit inline in a shell script)",
            c.short_id(),
            escape::line(&shown)
        );
        Ok(())
    }
}

/// For a body that cannot be inline in a shell command: the file beside the output (or in
/// the current directory) it goes to. A file of that name that holds anything else is never
/// overwritten.
fn body_file(c: &Capture, output: Option<&Path>) -> Result<Option<BodyFile>, Error> {
    if curl::body_kind(&c.request.body) != curl::Body::File {
        return Ok(None);
    }
    let name = format!("hookcli-{}.body", c.id);
    let (path, reference) = match output {
        Some(script) => {
            let dir = script.parent().filter(|d| !d.as_os_str().is_empty());
            (
                dir.map_or_else(|| PathBuf::from(&name), |d| d.join(&name)),
                name,
            )
        }
        None => {
            let path = std::env::current_dir()?.join(&name);
            let reference = path.display().to_string();
            (path, reference)
        }
    };
    let present = match std::fs::read(&path) {
        Ok(existing) if existing == c.request.body.as_ref() => true,
        Ok(_) => {
            return Err(Error::Failed(format!(
                "{} already exists and holds something other than the body of capture {}; move it away or export to another directory",
                escape::path(&path),
                c.short_id()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(source) => return Err(Error::WriteFile { path, source }),
    };
    Ok(Some(BodyFile {
        path,
        reference,
        present,
    }))
}
