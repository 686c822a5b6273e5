//! body: response bodies produced piece by piece. A page is a list of
//! segments, fixed text (the rendered template around each table) and row
//! writers that format table rows on demand, so a 1M-row table is never
//! held in memory whole and other connections are served between chunks.
//! Small results are sent in one piece with a Content-Length.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;

/// Target size of one chunk of a streamed body.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Bodies up to this size are produced at once and sent with a length.
pub const INLINE_BYTES: usize = 256 * 1024;

/// Something that writes part of a body each time it is asked.
pub trait Chunks: Send + 'static {
    /// Appends roughly `budget` bytes (or less when finished) to `out` and
    /// returns whether more is to come.
    fn write(&mut self, out: &mut String, budget: usize) -> bool;
}

/// A body made of fixed text and [`Chunks`].
#[derive(Default)]
pub struct Pieces {
    parts: VecDeque<Piece>,
}

/// A segment of a body.
pub enum Piece {
    Text(String),
    Rows(Box<dyn Chunks>),
}

impl Piece {
    pub fn rows(c: impl Chunks) -> Piece {
        Piece::Rows(Box::new(c))
    }
}

impl Pieces {
    pub fn new() -> Self {
        Pieces::default()
    }
    pub fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.parts.push_back(Piece::Text(s.into()));
        self
    }
    pub fn rows(&mut self, c: impl Chunks) -> &mut Self {
        self.parts.push_back(Piece::Rows(Box::new(c)));
        self
    }

    /// A page from its template's parts (`templates::render_split`) and
    /// what goes at each marker between them: part, fill, part, …, part.
    pub fn between(parts: Vec<String>, fills: impl IntoIterator<Item = Piece>) -> Pieces {
        let mut out = Pieces::new();
        let mut parts = parts.into_iter();
        for fill in fills {
            out.text(parts.next().unwrap_or_default());
            out.parts.push_back(fill);
        }
        for rest in parts {
            out.text(rest);
        }
        out
    }

    /// Writes up to about `budget` bytes; returns whether more remains.
    fn fill(&mut self, out: &mut String, budget: usize) -> bool {
        while out.len() < budget {
            let Some(front) = self.parts.front_mut() else {
                return false;
            };
            match front {
                Piece::Text(t) => {
                    out.push_str(t);
                    self.parts.pop_front();
                }
                Piece::Rows(r) => {
                    let room = budget - out.len();
                    if !r.write(out, room) {
                        self.parts.pop_front();
                    }
                }
            }
        }
        !self.parts.is_empty()
    }

    /// Produces up to [`INLINE_BYTES`] now. If that was everything the
    /// result is a plain sized body, otherwise a streaming one that starts
    /// with what was produced.
    pub fn into_body(mut self) -> PiecesBody {
        let mut first = String::new();
        let more = self.fill(&mut first, INLINE_BYTES);
        PiecesBody {
            first: Some(Bytes::from(first)),
            rest: more.then_some(self),
        }
    }
}

/// The [`MessageBody`] of [`Pieces`].
pub struct PiecesBody {
    first: Option<Bytes>,
    rest: Option<Pieces>,
}

impl PiecesBody {
    /// The whole body as one string, for tests and small results.
    pub fn into_string(mut self) -> String {
        let mut s = String::from_utf8_lossy(&self.first.take().unwrap_or_default()).into_owned();
        if let Some(mut rest) = self.rest.take() {
            while rest.fill(&mut s, usize::MAX) {}
        }
        s
    }
}

impl MessageBody for PiecesBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        match (&self.first, &self.rest) {
            (Some(b), None) => BodySize::Sized(b.len() as u64),
            (None, None) => BodySize::Sized(0),
            _ => BodySize::Stream,
        }
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Infallible>>> {
        let this = self.get_mut();
        if let Some(b) = this.first.take() {
            if !b.is_empty() {
                return Poll::Ready(Some(Ok(b)));
            }
        }
        let Some(rest) = this.rest.as_mut() else {
            return Poll::Ready(None);
        };
        let mut out = String::with_capacity(CHUNK_BYTES + 4096);
        if !rest.fill(&mut out, CHUNK_BYTES) {
            this.rest = None;
        }
        if out.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Ok(Bytes::from(out))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count {
        next: u32,
        end: u32,
    }
    impl Chunks for Count {
        fn write(&mut self, out: &mut String, budget: usize) -> bool {
            let start = out.len();
            while self.next < self.end && out.len() - start < budget {
                out.push_str(&format!("{}\n", self.next));
                self.next += 1;
            }
            self.next < self.end
        }
    }

    #[test]
    fn small_bodies_are_sized() {
        let mut p = Pieces::new();
        p.text("<a>").rows(Count { next: 0, end: 3 }).text("</a>");
        let b = p.into_body();
        assert_eq!(b.size(), BodySize::Sized(13));
        assert_eq!(b.into_string(), "<a>0\n1\n2\n</a>");
    }

    #[test]
    fn large_bodies_stream_everything_in_order() {
        let mut p = Pieces::new();
        p.text("[")
            .rows(Count {
                next: 0,
                end: 200_000,
            })
            .text("]");
        let b = p.into_body();
        assert_eq!(b.size(), BodySize::Stream);
        let s = b.into_string();
        assert!(s.starts_with("[0\n1\n"));
        assert!(s.ends_with("199999\n]"));
        // "[0" ... "199999", then "]".
        assert_eq!(s.lines().count(), 200_001);
    }
}
