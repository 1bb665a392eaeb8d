//! A minimum rate for request bodies, instead of a total deadline.
//!
//! An honest 1 GiB upload over an onion circuit at about 140 KB/s takes two
//! hours and must succeed; a client that sends a byte every 25 s must not
//! hold a connection for hours. So a body must deliver at least `min_bytes`
//! in every window (by default 60 KiB a minute, about 1 KiB/s averaged over
//! a minute: a stalled Tor circuit that recovers within the minute is not
//! cut). The check is made by a timer at the end of each window, so a
//! client that sends nothing at all is cut too.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The words every "too slow" error carries, so the handlers that read a
/// body can tell it from a broken one (and answer 408, not 400).
pub const TOO_SLOW: &str = "the request body arrived too slowly";

#[derive(Clone, Copy, Debug)]
pub struct MinRate {
    /// Bytes a body must deliver in each window.
    pub min_bytes: u64,
    pub window: Duration,
}

impl MinRate {
    /// `bytes_per_sec` averaged over `window`.
    pub fn new(bytes_per_sec: u64, window: Duration) -> MinRate {
        MinRate { min_bytes: bytes_per_sec.saturating_mul(window.as_secs().max(1)), window }
    }

    /// Wraps the request's body.
    pub fn apply(self, request: Request) -> Request {
        request.map(|body| Body::new(MinRateBody::new(body, self)))
    }
}

pin_project_lite::pin_project! {
    pub struct MinRateBody<B> {
        #[pin]
        inner: B,
        rate: MinRate,
        received: u64,
        at_window_start: u64,
        window_start: Instant,
        #[pin]
        deadline: Sleep,
    }
}

impl<B> MinRateBody<B> {
    pub fn new(inner: B, rate: MinRate) -> Self {
        let now = Instant::now();
        MinRateBody {
            inner,
            rate,
            received: 0,
            at_window_start: 0,
            window_start: now,
            deadline: tokio::time::sleep_until(now + rate.window),
        }
    }
}

impl<B> HttpBody for MinRateBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.received += data.len() as u64;
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        // Nothing new: is a window over? (The timer wakes us when it is.)
        loop {
            ready!(this.deadline.as_mut().poll(cx));
            let now = Instant::now();
            if now > *this.window_start + this.rate.window * 2 {
                // Nobody read the body for a while (the handler was busy,
                // say sealing a file): that window says nothing about the
                // client. Start a fresh one now instead of judging it.
                *this.window_start = now;
                *this.at_window_start = *this.received;
                this.deadline.as_mut().reset(now + this.rate.window);
                continue;
            }
            if *this.received - *this.at_window_start < this.rate.min_bytes {
                return Poll::Ready(Some(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, TOO_SLOW).into())));
            }
            *this.at_window_start = *this.received;
            *this.window_start += this.rate.window;
            let next = *this.window_start + this.rate.window;
            this.deadline.as_mut().reset(next.max(Instant::now()));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use http_body_util::BodyExt;

    fn trickle(every: Duration, chunk: usize, count: usize) -> Body {
        let stream = futures_util::stream::iter(0..count).then(move |_| async move {
            tokio::time::sleep(every).await;
            Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; chunk]))
        });
        Body::from_stream(stream)
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_below_the_rate_is_cut_after_one_window() {
        let rate = MinRate::new(1024, Duration::from_secs(60));
        let body = MinRateBody::new(trickle(Duration::from_secs(25), 1, 100), rate);
        let Err(err) = body.collect().await else { panic!("a trickle must be cut") };
        assert!(err.to_string().contains(TOO_SLOW));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_upload_over_many_windows_gets_through() {
        // 2 KiB every second for five minutes: twice the minimum.
        let rate = MinRate::new(1024, Duration::from_secs(60));
        let body = MinRateBody::new(trickle(Duration::from_secs(1), 2048, 300), rate);
        let bytes = body.collect().await.expect("not cut").to_bytes();
        assert_eq!(bytes.len(), 2048 * 300);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_stalls_does_not_get_the_client_cut() {
        // Data is there all along, but the body is not read for three
        // windows (the handler is busy): the next read must not fail.
        let rate = MinRate::new(1024, Duration::from_secs(60));
        let body = MinRateBody::new(trickle(Duration::from_millis(1), 4096, 100), rate);
        let mut body = std::pin::pin!(body);
        let first = futures_util::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await;
        assert!(matches!(first, Some(Ok(_))));
        tokio::time::advance(Duration::from_secs(200)).await;
        for _ in 0..99 {
            let next = futures_util::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await;
            assert!(matches!(next, Some(Ok(_))), "cut after the reader stalled");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_within_a_window_is_forgiven_if_the_window_is_met() {
        // 100 KiB at once, then 50 s of silence, then the rest.
        let rate = MinRate::new(1024, Duration::from_secs(60));
        let parts = vec![(0u64, 100 * 1024), (50, 1024), (30, 70 * 1024), (30, 70 * 1024)];
        let stream = futures_util::stream::iter(parts).then(|(wait, len)| async move {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; len]))
        });
        let body = MinRateBody::new(Body::from_stream(stream), rate);
        assert!(body.collect().await.is_ok());
    }
}
