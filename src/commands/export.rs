//! `hookcli export`: captures as hookcli JSON documents, HAR, curl commands or raw bytes.

use super::{filter, stdout, Store};
use crate::cli::{Cli, ExportArgs, ExportFormat};
use crate::error::Error;
use crate::formats::{curl, document, har};
use crate::render::escape;
use crate::store::model::Capture;
use crate::store::query::{self, Order};
use std::io::Write;
use std::path::{Path, PathBuf};

pub(super) fn run(cli: &Cli, args: &ExportArgs) -> Result<(), Error> {
    let store = Store::open(cli)?;
    let mut f = filter(&args.filter);
    f.ids = store.resolve(&args.ids)?;
    let captures =
        query::select(&store.conn, &f, Order::OldestFirst, None).map_err(|e| store.err(e))?;
    if captures.is_empty() {
        return Err(store.nothing_found());
    }
    let mut bytes = Vec::new();
    match args.format {
        ExportFormat::Json if captures.len() == 1 => {
            let text = serde_json::to_string_pretty(&document::to_value(&captures[0]))
                .map_err(std::io::Error::from)?;
            bytes = (escape::json(text) + "\n").into_bytes();
        }
        ExportFormat::Json => {
            for c in &captures {
                let line = escape::json(document::to_value(c).to_string());
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
            bytes.extend_from_slice(b"#!/bin/sh\n");
            for c in &captures {
                let file = body_file(c, args.output.as_deref())?;
                let cmd = curl::command(c, args.base_url.as_deref(), file.as_deref())
                    .map_err(Error::Failed)?;
                bytes.extend_from_slice(format!("# capture {}\n{cmd}\n", c.id).as_bytes());
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
    match &args.output {
        Some(path) => std::fs::write(path, &bytes).map_err(|source| Error::WriteFile {
            path: path.clone(),
            source,
        }),
        None => {
            let mut out = stdout();
            out.write_all(&bytes)?;
            Ok(out.flush()?)
        }
    }
}

/// For a body that cannot be inline in a shell command, write it to a file beside the
/// output (or in the current directory) and return the path curl should read.
fn body_file(c: &Capture, output: Option<&Path>) -> Result<Option<String>, Error> {
    if curl::body_kind(&c.request.body) != curl::Body::File {
        return Ok(None);
    }
    let name = format!("hookcli-{}.body", c.short_id());
    let path: PathBuf = match output.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(name),
        _ => PathBuf::from(name),
    };
    std::fs::write(&path, &c.request.body).map_err(|source| Error::WriteFile {
        path: path.clone(),
        source,
    })?;
    eprintln!(
        "hookcli: wrote the binary body of {} to {}",
        c.short_id(),
        path.display()
    );
    Ok(Some(path.display().to_string()))
}
