//! `hookcli verify`: is this signature valid for this body, and if not, why.

use super::{stdout, Store};
use crate::cli::{Cli, VerifyArgs};
use crate::config;
use crate::error::Error;
use crate::formats::header_values;
use crate::intercom::diagnose::diagnose;
use crate::intercom::signature::Scheme;
use crate::intercom::Notification;
use crate::render::style::Style;
use crate::store::query;
use serde_json::json;
use std::io::Write;

pub(super) fn run(cli: &Cli, args: &VerifyArgs) -> Result<(), Error> {
    let secret = config::secret(&args.secret)?.unwrap_or_else(|| {
        super::usage_error(
            "verify",
            "verify needs the app's client secret: pass --secret, --secret-file or set HOOKCLI_SECRET",
        )
    });
    let (body, scheme, given, source) = match (&args.id, &args.body) {
        (Some(_), _) | (None, None) => {
            let store = Store::open(cli)?;
            let c = match &args.id {
                Some(prefix) => {
                    let id = store.resolve(std::slice::from_ref(prefix))?.remove(0);
                    query::get(&store.conn, &id)
                        .map_err(|e| store.err(e))?
                        .ok_or(Error::UnknownId(id))?
                }
                // clap requires an id, --last or --body.
                None => store.newest()?,
            };
            let id = c.id.clone();
            // The header the capture carries (a health check's is X-Body-Signature): a
            // --signature is checked as that one is, so a SHA-256 given for a notification
            // is diagnosed, not called valid. Only a capture with neither goes by its look.
            let scheme = c.request.scheme();
            let carries: Vec<Vec<u8>> = header_values(&c.request.headers, scheme.header())
                .map(<[u8]>::to_vec)
                .collect();
            let (scheme, sig) = match (&args.signature, carries.is_empty()) {
                (Some(value), false) => (scheme, vec![value.clone().into_bytes()]),
                (Some(value), true) => (
                    guess(c.request.notification.is_some(), value.as_bytes()),
                    vec![value.clone().into_bytes()],
                ),
                (None, _) => (scheme, carries),
            };
            (
                c.request.body.to_vec(),
                scheme,
                sig,
                format!("capture {id}"),
            )
        }
        (None, Some(path)) => {
            let bytes = super::read_input(path).map_err(|source| Error::ReadFile {
                path: path.clone(),
                source,
            })?;
            let given: Vec<Vec<u8>> = args
                .signature
                .clone()
                .map(String::into_bytes)
                .into_iter()
                .collect();
            let notification = Notification::parse(&bytes).is_some();
            let scheme = given
                .first()
                .map_or(Scheme::Hub, |v| guess(notification, v));
            (bytes, scheme, given, path.display().to_string())
        }
    };
    let given: Vec<&[u8]> = given.iter().map(Vec::as_slice).collect();
    let d = diagnose(scheme, secret.expose(), &given, &body);
    let expected = scheme.sign(secret.expose(), &body);
    let mut out = stdout();
    if args.json {
        let record = json!({"type": "verify", "source": source, "valid": d.is_valid(), "diagnosis": d.code(), "detail": d.explain(), "expected": expected});
        writeln!(out, "{}", crate::render::json::line(&record))?;
    } else {
        let s = Style::new(config::use_color(cli.color));
        let mark = if d.is_valid() {
            s.good("✓")
        } else {
            s.bad("✗")
        };
        // A file's name is the user's, but may hold anything a terminal would act on.
        let source = crate::render::escape::line(&source);
        writeln!(out, "{mark} {source}: {}", d.explain())?;
        if !d.is_valid() {
            writeln!(
                out,
                "  {}",
                s.dim(&format!(
                    "expected for these bytes and this secret: {}: {expected}",
                    scheme.name()
                ))
            )?;
        }
    }
    out.flush()?;
    if d.is_valid() {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "the signature is not valid ({})",
            d.code()
        )))
    }
}

/// The scheme of a signature given on its own: a notification is always signed with
/// X-Hub-Signature; anything else by what the value looks like.
fn guess(notification: bool, value: &[u8]) -> Scheme {
    if notification {
        Scheme::Hub
    } else {
        Scheme::guess(value)
    }
}
