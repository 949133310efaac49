//! The durable floor: the ceiling server plus the least any durable capture needs. Each body
//! goes to one writer thread that inserts it into a one-table SQLite store (WAL,
//! `synchronous=FULL`) and group-commits whatever is waiting, as hookcli's store does, before
//! its 200. No signature, headers, indexes, printing or checks: `bench/listen.sh` runs it
//! beside the ceiling and `hookcli listen` to show how much of the ceiling durability itself
//! leaves on this machine. Usage: `floor DIR` (DIR must exist).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, oneshot};

/// A body to store, and where to send its row number once committed.
type Job = (Bytes, oneshot::Sender<i64>);

/// The single writer: take what is queued, insert it in one transaction, commit, answer.
fn writer(dir: std::path::PathBuf, mut rx: mpsc::Receiver<Job>) {
    let conn = rusqlite::Connection::open(dir.join("floor.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "wal")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "full")
        .expect("sync");
    conn.execute_batch("create table if not exists c(seq integer primary key, body blob)")
        .expect("schema");
    let mut group = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        group.push(first);
        while let Ok(next) = rx.try_recv() {
            group.push(next);
        }
        let tx = conn.unchecked_transaction().expect("begin");
        let mut ids = Vec::with_capacity(group.len());
        {
            let mut ins = tx
                .prepare_cached("insert into c(body) values (?1)")
                .expect("prep");
            for (body, _) in &group {
                ins.execute([&body[..]]).expect("insert");
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit().expect("commit");
        for ((_, reply), id) in group.drain(..).zip(ids) {
            let _ = reply.send(id);
        }
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir: std::path::PathBuf = args.next().expect("store dir").into();
    let (tx, rx) = mpsc::channel::<Job>(1024);
    std::thread::spawn(move || writer(dir, rx));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    println!("http://{}/", listener.local_addr().expect("address"));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let tx = tx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let tx = tx.clone();
                async move {
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let (reply, wait) = oneshot::channel();
                    let _ = tx.send((body, reply)).await;
                    // No commit, no 200: a writer that died answers nobody.
                    let response = match wait.await {
                        Ok(id) => Response::new(Full::new(Bytes::from(format!(
                            "{{\"ok\":true,\"id\":{id}}}"
                        )))),
                        Err(_) => {
                            let mut r = Response::new(Full::new(Bytes::new()));
                            *r.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
                            r
                        }
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
