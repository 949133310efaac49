//! Request headers exactly as they arrived: names in the sender's case, in the sender's order.
//!
//! hyper hands the handler a `HeaderMap`, which lower-cases names and groups repeated names
//! together (`X-A, X-B, X-A` comes out as `x-a, x-a, x-b`). The store promises headers as
//! sent, so the connection's bytes pass through a tap on their way to hyper: it parses each
//! request head again and skips its body, queueing one header list per request. When the
//! tap cannot follow the stream (a chunked body, anything odd) it stops for the rest of
//! the connection, and the handler falls back to hyper's view; it also falls back when the
//! two disagree, so the tap can only ever restore order and case, never change content.

use crate::store::model::Header;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most header lines the tap parses; hyper refuses more than `MAX_HEADERS` anyway.
const MAX_LINES: usize = 128;

/// The heads a connection's tap has parsed, for its requests to take in order.
#[derive(Default)]
pub(crate) struct Heads {
    state: State,
    /// The unparsed start of the next head.
    pending: Vec<u8>,
    parsed: VecDeque<Vec<Header>>,
    /// Bytes seen so far on the connection (up to two: enough to tell a TLS handshake).
    opening: Vec<u8>,
}

#[derive(Default)]
enum State {
    /// Reading a request head.
    #[default]
    Head,
    /// Skipping this many body bytes.
    Body(u64),
    /// Lost track of the stream: no more heads on this connection.
    Lost,
}

/// Shared between a connection's tap and its request handlers.
pub(crate) type SharedHeads = Arc<Mutex<Heads>>;

impl Heads {
    /// The next request's headers as sent, if they agree with what hyper parsed.
    pub(crate) fn take(shared: &SharedHeads, parsed: &hyper::HeaderMap) -> Option<Vec<Header>> {
        let raw = shared.lock().ok()?.parsed.pop_front()?;
        same_headers(&raw, parsed).then_some(raw)
    }

    /// Whether the connection opened with a TLS handshake record (0x16 0x03): a client
    /// that took this plain-HTTP listener for an HTTPS one.
    pub(crate) fn opened_with_tls(shared: &SharedHeads) -> bool {
        shared
            .lock()
            .is_ok_and(|h| h.opening.starts_with(&[0x16, 0x03]))
    }

    /// Whether part of a request head has arrived but not all of it.
    pub(crate) fn mid_head(shared: &SharedHeads) -> bool {
        shared
            .lock()
            .is_ok_and(|h| matches!(h.state, State::Head) && !h.pending.is_empty())
    }

    fn feed(&mut self, bytes: &[u8]) {
        if self.opening.len() < 2 {
            let n = bytes.len().min(2 - self.opening.len());
            self.opening.extend_from_slice(&bytes[..n]);
        }
        let mut data = bytes;
        let mut after_head: Vec<u8>;
        while !data.is_empty() {
            match self.state {
                State::Lost => return,
                State::Body(left) => {
                    let n = data.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    data = &data[n..];
                    self.state = match left - n as u64 {
                        0 => State::Head,
                        rest => State::Body(rest),
                    };
                }
                State::Head => {
                    self.pending.extend_from_slice(data);
                    match self.parse_head() {
                        // What followed the head is its body, or the next request.
                        Some(rest) => {
                            after_head = rest;
                            data = &after_head;
                        }
                        None => return,
                    }
                }
            }
        }
    }

    /// Parse a complete head from `pending`; returns the bytes after it, if any.
    fn parse_head(&mut self) -> Option<Vec<u8>> {
        // hyper ignores empty lines before a request line.
        let start = self
            .pending
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .unwrap_or(self.pending.len());
        let mut lines = [httparse::EMPTY_HEADER; MAX_LINES];
        let mut req = httparse::Request::new(&mut lines);
        match req.parse(&self.pending[start..]) {
            Ok(httparse::Status::Complete(len)) => {
                let headers: Vec<Header> = req
                    .headers
                    .iter()
                    .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
                    .collect();
                self.state = body_framing(&headers);
                self.parsed.push_back(headers);
                let rest = self.pending.split_off(start + len);
                self.pending.clear();
                Some(rest)
            }
            Ok(httparse::Status::Partial) if self.pending.len() <= super::MAX_HEAD_BYTES * 2 => {
                None
            }
            _ => {
                self.state = State::Lost;
                self.pending = Vec::new();
                None
            }
        }
    }
}

/// How the body after a head is framed, as far as the tap follows it.
fn body_framing(headers: &[Header]) -> State {
    let get = |name| crate::formats::header_values(headers, name).collect::<Vec<_>>();
    if !get("transfer-encoding").is_empty() {
        return State::Lost; // chunked: not followed; later requests use hyper's view
    }
    // hyper takes a length repeated with the same value as that value, and refuses others.
    let lengths = get("content-length");
    match lengths.as_slice() {
        [] => State::Head,
        [one, rest @ ..] if rest.iter().all(|v| v == one) => match std::str::from_utf8(one)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            Some(0) => State::Head,
            Some(n) => State::Body(n),
            None => State::Lost,
        },
        _ => State::Lost,
    }
}

/// Whether the raw list holds the same headers as hyper's map, in any order and case. hyper
/// folds a `Content-Length` repeated with one value into one, and drops it when
/// `Transfer-Encoding` is there too; the raw list keeps what was sent, which is the point.
fn same_headers(raw: &[Header], parsed: &hyper::HeaderMap) -> bool {
    let is_length = |n: &[u8]| n.eq_ignore_ascii_case(b"content-length");
    let kept: Vec<&[u8]> = parsed
        .get_all(hyper::header::CONTENT_LENGTH)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    let mut sent = raw
        .iter()
        .filter(|(n, _)| is_length(n))
        .map(|(_, v)| v.as_slice());
    let lengths_agree = match kept.as_slice() {
        [] => sent.next().is_none() || parsed.contains_key(hyper::header::TRANSFER_ENCODING),
        [one] => sent.all(|v| v == *one),
        _ => false,
    };
    let mut a: Vec<(Vec<u8>, &[u8])> = raw
        .iter()
        .filter(|(n, _)| !is_length(n))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_slice()))
        .collect();
    let mut b: Vec<(Vec<u8>, &[u8])> = parsed
        .iter()
        .filter(|(n, _)| *n != hyper::header::CONTENT_LENGTH)
        .map(|(n, v)| (n.as_str().as_bytes().to_vec(), v.as_bytes()))
        .collect();
    a.sort_unstable();
    b.sort_unstable();
    lengths_agree && a == b
}

/// A connection's stream, feeding every byte hyper reads to the connection's `Heads`.
pub(crate) struct Tap<T> {
    inner: T,
    heads: SharedHeads,
}

impl<T> Tap<T> {
    /// Wrap `inner`; the handlers of its requests read from the returned heads.
    pub(crate) fn new(inner: T) -> (Tap<T>, SharedHeads) {
        let heads = SharedHeads::default();
        (
            Tap {
                inner,
                heads: heads.clone(),
            },
            heads,
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tap<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                if let Ok(mut heads) = self.heads.lock() {
                    heads.feed(new);
                }
            }
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tap<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(h: &[Header]) -> Vec<String> {
        h.iter()
            .map(|(n, v)| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                )
            })
            .collect()
    }

    fn map(pairs: &[(&str, &str)]) -> hyper::HeaderMap {
        let mut m = hyper::HeaderMap::new();
        for (n, v) in pairs {
            m.append(
                hyper::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                hyper::header::HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    #[test]
    fn pipelined_heads_split_anywhere_keep_order_and_case() {
        let stream = b"\r\nPOST /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-B: 2\r\nx-a: 3\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHOST: y\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        for split in 1..stream.len() {
            let mut heads = Heads::default();
            heads.feed(&stream[..split]);
            heads.feed(&stream[split..]);
            let got: Vec<Vec<String>> = heads.parsed.iter().map(|h| names(h)).collect();
            assert_eq!(
                got,
                vec![
                    vec!["Host=x", "X-A=1", "X-B=2", "x-a=3", "Content-Length=5"],
                    vec!["HOST=y"],
                    vec!["Content-Length=3"],
                ],
                "split at {split}"
            );
            assert!(matches!(heads.state, State::Head));
        }
    }

    #[test]
    fn a_chunked_body_stops_the_tap_for_the_rest_of_the_connection() {
        let mut heads = Heads::default();
        heads.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nPOST / HTTP/1.1\r\nX: 1\r\n\r\n");
        assert_eq!(heads.parsed.len(), 1);
        assert!(matches!(heads.state, State::Lost));
    }

    #[test]
    fn only_headers_that_agree_with_hyper_are_used() {
        let shared = SharedHeads::default();
        shared
            .lock()
            .unwrap()
            .feed(b"POST / HTTP/1.1\r\nX-A: 1\r\nX-B: 2\r\nX-A: 3\r\n\r\nPOST / HTTP/1.1\r\nX-A: 1\r\n\r\n");
        let first = Heads::take(&shared, &map(&[("x-a", "1"), ("x-a", "3"), ("x-b", "2")]));
        assert_eq!(names(&first.unwrap()), ["X-A=1", "X-B=2", "X-A=3"]);
        assert_eq!(Heads::take(&shared, &map(&[("x-a", "2")])), None);
        assert_eq!(Heads::take(&shared, &map(&[])), None, "nothing left");
    }

    #[test]
    fn a_length_hyper_folded_or_dropped_is_kept_as_sent() {
        let shared = SharedHeads::default();
        // A length sent twice with one value: hyper keeps one; the tap still follows.
        shared.lock().unwrap().feed(
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nX-B: 2\r\nContent-Length: 3\r\n\r\nabcPOST / HTTP/1.1\r\nX-C: 1\r\n\r\n",
        );
        let folded = map(&[("content-length", "3"), ("x-b", "2")]);
        let first = Heads::take(&shared, &folded).unwrap();
        assert_eq!(
            names(&first),
            ["Content-Length=3", "X-B=2", "Content-Length=3"]
        );
        assert_eq!(
            names(&Heads::take(&shared, &map(&[("x-c", "1")])).unwrap()),
            ["X-C=1"]
        );
        // With Transfer-Encoding, hyper drops the length; what was sent is kept.
        let shared = SharedHeads::default();
        shared.lock().unwrap().feed(
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        );
        let dropped = map(&[("transfer-encoding", "chunked")]);
        let sent = Heads::take(&shared, &dropped).unwrap();
        assert_eq!(
            names(&sent),
            ["Content-Length=3", "Transfer-Encoding=chunked"]
        );
        // A length hyper did not see the same way is no match.
        let shared = SharedHeads::default();
        shared
            .lock()
            .unwrap()
            .feed(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
        assert_eq!(Heads::take(&shared, &map(&[("content-length", "4")])), None);
        let shared = SharedHeads::default();
        shared
            .lock()
            .unwrap()
            .feed(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
        assert_eq!(Heads::take(&shared, &map(&[])), None);
    }

    #[test]
    fn garbage_or_an_endless_head_stops_the_tap() {
        let mut heads = Heads::default();
        heads.feed(b"NOT HTTP AT ALL\r\n\r\n");
        assert!(matches!(heads.state, State::Lost));
        let mut heads = Heads::default();
        heads.feed(b"POST / HTTP/1.1\r\nX: ");
        heads.feed(&vec![b'a'; super::super::MAX_HEAD_BYTES * 3]);
        assert!(matches!(heads.state, State::Lost));
        assert!(heads.pending.is_empty(), "its memory is given back");
    }
}
