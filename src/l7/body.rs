//! Bodies that stream through untouched while being measured.
//!
//! Request bodies are counted on their way upstream; response bodies carry
//! the exchange's `Recorder`, which records when the last frame passes (or,
//! if the client goes away first, when the body is dropped). Nothing is
//! buffered.
use super::h1::DownstreamBody;
use super::idle::{StreamIdle, StreamIdleTimeout};
use super::recorder::Recorder;
use super::upstream::ReplyBody;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use periscope_parsers::dynamodb::{self, BodyPrefix, DynamoRefiner};
use periscope_parsers::grpc::MessageCounter;
use periscope_parsers::Outcome;
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

/// What the request body did, shared between the body on its way upstream
/// and the exchange's recorder.
#[derive(Default)]
pub struct RequestBodyState {
    pub bytes: AtomicU64,
    /// Reading the body from the client failed (the client went away
    /// mid-upload): the failure is downstream, not the upstream's.
    pub downstream_failed: AtomicBool,
    /// gRPC request messages so far (published by the body's counter).
    pub grpc_messages: AtomicU64,
    pub grpc_compressed: AtomicU64,
    /// Set for DynamoDB requests (see [`DynamoRequest`]).
    pub dynamo: Option<DynamoRequest>,
    /// The listener's stream idle timeout, for both bodies.
    pub stream_idle: Option<std::time::Duration>,
    /// The client went quiet mid-body past the stream idle timeout.
    pub idle_timed_out: AtomicBool,
}

/// Errors of the bodies Periscope streams: hyper's, or its own idle cut.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A DynamoDB request's side of the refiner: what the headers said, and
/// the request read from the body's prefix once the body ended.
pub struct DynamoRequest {
    pub target: http::HeaderValue,
    cap: usize,
    encoded: bool,
    pub refined: OnceLock<DynamoRefiner>,
}

impl DynamoRequest {
    /// Most body bytes kept, per body.
    pub fn cap(&self) -> usize {
        self.cap
    }
}

impl RequestBodyState {
    /// The state for a request with these headers: DynamoDB requests get a
    /// refiner keeping at most `dynamo_cap` body bytes (0: off).
    pub fn for_request(
        headers: &http::HeaderMap,
        dynamo_cap: usize,
        stream_idle: Option<std::time::Duration>,
    ) -> RequestBodyState {
        let target = headers.get("x-amz-target");
        let content_type = headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.as_bytes());
        let dynamo = (dynamo_cap > 0
            && dynamodb::is_dynamodb(target.map(|v| v.as_bytes()), content_type))
        .then(|| DynamoRequest {
            target: target
                .cloned()
                .unwrap_or_else(|| http::HeaderValue::from_static("")),
            cap: dynamo_cap,
            encoded: headers
                .get(http::header::CONTENT_ENCODING)
                .is_some_and(|v| !v.is_empty() && v != "identity"),
            refined: OnceLock::new(),
        });
        RequestBodyState {
            dynamo,
            stream_idle,
            ..RequestBodyState::default()
        }
    }

    fn dynamo_refined(&self) -> bool {
        self.dynamo
            .as_ref()
            .is_some_and(|d| d.refined.get().is_some())
    }

    /// The request as far as it was read (a body that never ended is read
    /// as empty: the operation and nothing else).
    pub fn dynamo_refiner(&self) -> Option<DynamoRefiner> {
        let request = self.dynamo.as_ref()?;
        Some(match request.refined.get() {
            Some(refined) => refined.clone(),
            None => DynamoRefiner::request(request.target.as_bytes(), b"", false),
        })
    }
}

pin_project! {
    /// A downstream request body on its way upstream.
    pub struct CountedBody {
        #[pin]
        inner: DownstreamBody,
        state: Arc<RequestBodyState>,
        // Only this body's poller touches it; counts are published to
        // `state` for the recorder on the response side.
        grpc: Option<MessageCounter>,
        // The DynamoDB body prefix, read into `state` when the body ends.
        dynamo: Option<BodyPrefix>,
        idle: Option<StreamIdle>,
    }
}

impl CountedBody {
    pub fn new(inner: DownstreamBody, state: Arc<RequestBodyState>, grpc: bool) -> CountedBody {
        let dynamo = state
            .dynamo
            .as_ref()
            .filter(|d| !d.encoded)
            .map(|d| BodyPrefix::new(d.cap));
        let idle = StreamIdle::new(state.stream_idle);
        CountedBody {
            inner,
            state,
            grpc: grpc.then(MessageCounter::default),
            dynamo,
            idle,
        }
    }
}

/// The request body ended: read its DynamoDB prefix, once.
fn refine_dynamo(state: &RequestBodyState, prefix: Option<BodyPrefix>) {
    let Some(request) = &state.dynamo else {
        return;
    };
    let target = request.target.as_bytes();
    let refiner = match prefix {
        Some(p) => DynamoRefiner::request(target, p.bytes(), p.truncated()),
        None => {
            let mut refiner = DynamoRefiner::request(target, b"", false);
            refiner.mark_request_encoded();
            refiner
        }
    };
    let _ = request.refined.set(refiner);
}

impl Body for CountedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(cx);
        if let Some(idle) = this.idle.as_mut() {
            match &polled {
                Poll::Pending if idle.expired(cx) => {
                    // The client stopped sending its body: the upstream
                    // request ends with this error, as a client that left.
                    this.state.idle_timed_out.store(true, Ordering::Relaxed);
                    this.state.downstream_failed.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(Box::new(StreamIdleTimeout))));
                }
                Poll::Pending => {}
                _ => idle.progressed(),
            }
        }
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.state
                        .bytes
                        .fetch_add(data.len() as u64, Ordering::Relaxed);
                    if let Some(prefix) = this.dynamo.as_mut() {
                        prefix.push(data);
                    }
                    if let Some(counter) = this.grpc.as_mut() {
                        counter.feed(data);
                        let state = &this.state;
                        state
                            .grpc_messages
                            .store(counter.messages(), Ordering::Relaxed);
                        state
                            .grpc_compressed
                            .store(counter.compressed(), Ordering::Relaxed);
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                this.state.downstream_failed.store(true, Ordering::Relaxed);
            }
            _ => {}
        }
        // hyper stops polling a body that says it has ended, so the end is
        // noticed here rather than only on `Ready(None)`.
        let ended = matches!(polled, Poll::Ready(None)) || this.inner.is_end_stream();
        if ended && this.state.dynamo.is_some() && !this.state.dynamo_refined() {
            refine_dynamo(this.state, this.dynamo.take());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    #[project = SourceProj]
    enum Source {
        Upstream { #[pin] body: ReplyBody },
        Local { body: Option<Bytes> },
    }
}

pin_project! {
    /// What the downstream client receives: an upstream body streamed
    /// through, or a local reply, plus the exchange's recorder.
    pub struct ResponseBody {
        #[pin]
        source: Source,
        // Boxed: a response is moved several times on its way out (out of
        // the forwarding future, into hyper's stream), and the recorder is
        // most of its size.
        recorder: Option<Box<Recorder>>,
        idle: Option<StreamIdle>,
    }

    impl PinnedDrop for ResponseBody {
        fn drop(this: Pin<&mut Self>) {
            // hyper may drop a body it knows to be empty (HEAD, 204, 304)
            // without polling it: that is a complete exchange, not a client
            // leaving.
            let this = this.project();
            if let Some(recorder) = this.recorder.take() {
                let outcome = if source_ended(this.source.as_ref().get_ref()) {
                    Outcome::Complete
                } else {
                    Outcome::Incomplete
                };
                recorder.finish(outcome);
            }
        }
    }
}

fn source_ended(source: &Source) -> bool {
    match source {
        Source::Upstream { body } => body.is_end_stream(),
        Source::Local { body } => body.is_none(),
    }
}

impl ResponseBody {
    pub fn upstream(body: ReplyBody, recorder: Recorder) -> ResponseBody {
        ResponseBody {
            source: Source::Upstream { body },
            idle: StreamIdle::new(recorder.stream_idle()),
            recorder: Some(Box::new(recorder)),
        }
    }

    pub fn local(body: Bytes, recorder: Option<Recorder>) -> ResponseBody {
        let body = if body.is_empty() { None } else { Some(body) };
        ResponseBody {
            source: Source::Local { body },
            recorder: recorder.map(Box::new),
            idle: None,
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let polled = match this.source.project() {
            SourceProj::Upstream { body } => body.poll_frame(cx),
            SourceProj::Local { body } => Poll::Ready(body.take().map(|b| Ok(Frame::data(b)))),
        };
        if let Some(idle) = this.idle.as_mut() {
            match &polled {
                Poll::Pending if idle.expired(cx) => {
                    // The upstream stalled mid-body: the client's stream is
                    // ended (reset) and the exchange recorded incomplete.
                    if let Some(recorder) = this.recorder.take() {
                        recorder.finish(Outcome::Incomplete);
                    }
                    return Poll::Ready(Some(Err(Box::new(StreamIdleTimeout))));
                }
                Poll::Pending => {}
                _ => idle.progressed(),
            }
        }
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(recorder) = this.recorder.as_mut() {
                    if let Some(data) = frame.data_ref() {
                        recorder.response_body_bytes += data.len() as u64;
                        if let Some(response) = recorder.dynamo.as_mut() {
                            response.body.push(data);
                        }
                        if let Some(call) = recorder.grpc.as_mut() {
                            call.response_data(data);
                        }
                    } else if let (Some(trailers), Some(call)) =
                        (frame.trailers_ref(), recorder.grpc.as_mut())
                    {
                        super::grpc::read_status(call, trailers);
                    }
                }
            }
            Poll::Ready(None) => {
                if let Some(recorder) = this.recorder.take() {
                    recorder.finish(Outcome::Complete);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(recorder) = this.recorder.take() {
                    recorder.finish(Outcome::Incomplete);
                }
            }
            Poll::Pending => {}
        }
        polled.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        source_ended(&self.source)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.source {
            Source::Upstream { body } => body.size_hint(),
            Source::Local { body } => {
                SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}
