//! `hookcli listen`: open the store, bind, print where to send notifications, serve until
//! interrupted, then drain, flush the store and print a summary.

use crate::cli::{Cli, ListenArgs};
use crate::error::Error;
use crate::render::{self, style::Style, Detail, Event, Listening, Mode, Summary};
use crate::server::{self, Settings, Stats};
use crate::{config, shutdown, store::Writer};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub(super) fn run(cli: &Cli, args: &ListenArgs) -> Result<(), Error> {
    let secret = config::secret(args.secret.as_deref(), args.secret_file.as_deref())?;
    if args.reject_invalid && secret.is_none() {
        clap_usage("--reject-invalid needs the client secret: pass --secret, --secret-file or set HOOKCLI_SECRET");
    }
    let prefix = normalise_prefix(&args.path);
    let dir = config::store_dir(cli.store.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Output)?;
    let writer = Arc::new(Writer::open(&dir)?);
    let listener = runtime.block_on(bind(&args.host, args.port))?;
    let local = listener.local_addr().map_err(Error::Output)?;
    if !local.ip().is_loopback() {
        eprintln!(
            "hookcli: warning: listening on {}, which other machines can reach; use --host 127.0.0.1 unless you mean it",
            local.ip()
        );
    }
    let mode = Mode {
        json: args.json,
        detail: if args.compact {
            Detail::Compact
        } else if args.full {
            Detail::Full
        } else {
            Detail::Body(args.lines)
        },
        style: Style::new(!args.json && config::use_color(cli.color)),
    };
    let (output, printer) = render::spawn(mode);
    output.emit_blocking(Event::Listening(Listening {
        url: format!("http://{}{}", url_host(local), prefix),
        host: local.ip().to_string(),
        port: local.port(),
        path: prefix.clone(),
        store: dir.display().to_string(),
        signature_check: secret.is_some(),
        reject_invalid: args.reject_invalid,
        max_body: args.max_body,
    }));
    let stats = Arc::new(Stats::default());
    let settings = Settings {
        prefix,
        secret,
        reject_invalid: args.reject_invalid,
        max_body: args.max_body,
    };
    runtime.block_on(server::serve(
        listener,
        settings,
        writer.clone(),
        output.clone(),
        stats.clone(),
        shutdown::signal(),
    ));
    // In-flight requests are done: flush the store before reporting.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    if let Ok(writer) = Arc::try_unwrap(writer) {
        writer.close();
    }
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    output.emit_blocking(Event::Summary(Summary {
        received: get(&stats.received),
        stored: get(&stats.stored),
        invalid_signatures: get(&stats.invalid_signatures),
        refused: get(&stats.refused),
        validations: get(&stats.validations),
    }));
    drop(output);
    let _ = printer.join();
    Ok(())
}

async fn bind(host: &str, port: u16) -> Result<tokio::net::TcpListener, Error> {
    let addr = format!("{host}:{port}");
    let ip: IpAddr = host
        .trim_matches(['[', ']'])
        .parse()
        .map_err(|_| Error::Bind {
            addr: addr.clone(),
            reason: "--host must be an IP address such as 127.0.0.1 or ::1".into(),
        })?;
    tokio::net::TcpListener::bind(SocketAddr::new(ip, port)).await.map_err(|e| Error::Bind {
        reason: match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "port {port} is already in use; stop the other program or pass --port 0 to pick a free port"
            ),
            std::io::ErrorKind::PermissionDenied => {
                "permission denied; ports below 1024 need privileges, try --port 4665".to_string()
            }
            _ => e.to_string(),
        },
        addr,
    })
}

fn url_host(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V6(ip) => format!("[{ip}]:{}", addr.port()),
        IpAddr::V4(ip) => format!("{ip}:{}", addr.port()),
    }
}

/// `/hooks/` and `hooks` both become `/hooks`; empty becomes `/`.
fn normalise_prefix(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    format!("/{trimmed}")
}

fn clap_usage(message: &str) -> ! {
    use clap::CommandFactory;
    Cli::command()
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised() {
        assert_eq!(normalise_prefix("/"), "/");
        assert_eq!(normalise_prefix(""), "/");
        assert_eq!(normalise_prefix("hooks/intercom/"), "/hooks/intercom");
    }
}
