//! The per-request and per-connection handles the hot paths carry: they
//! collect the context an exchange is exported with (peer, route, upstream,
//! request id, span ids) and hand finished exchanges to the listener's
//! export. `None` (no handle at all) when the listener exports nothing.
use super::{ConnectionSummary, ExchangeContext, ListenerExport};
use periscope_parsers::{Exchange, Protocol, Timestamp};
use std::net::SocketAddr;
use std::sync::Arc;

/// The L7 path's handle, carried by the request's `Recorder`: where to send
/// the exchange and what it is sent with.
pub struct L7Export {
    to: Arc<ListenerExport>,
    pub context: ExchangeContext,
}

impl L7Export {
    /// A request starts: continue its `traceparent` (if tracing is on).
    /// `None` when the listener exports nothing.
    pub fn begin(
        to: &Arc<ListenerExport>,
        peer: SocketAddr,
        headers: &http::HeaderMap,
    ) -> Option<Box<L7Export>> {
        if !to.is_on() {
            return None;
        }
        let span = to.tracer.as_ref().map(|tracer| {
            let parent = headers
                .get(TRACEPARENT)
                .and_then(|v| crate::pipeline::traces::parse_traceparent(v.as_bytes()));
            tracer.start(parent)
        });
        Some(Box::new(L7Export {
            to: to.clone(),
            context: ExchangeContext {
                peer: Some(peer),
                span,
                ..ExchangeContext::default()
            },
        }))
    }

    /// The route (and its cluster, when it forwards) is known.
    pub fn routed(export: &mut Option<Box<L7Export>>, route: &str, cluster: Option<&str>) {
        if let Some(export) = export {
            export.context.route = Some(route.to_owned());
            export.context.cluster = cluster.map(str::to_owned);
        }
    }

    /// The request leaves for `endpoint`: note it and the request id, and
    /// replace any `traceparent` with Periscope's span as the new parent.
    pub fn forwarding(
        export: &mut Option<Box<L7Export>>,
        headers: &mut http::HeaderMap,
        endpoint: &str,
    ) {
        let Some(export) = export else { return };
        export.context.upstream = Some(endpoint.to_owned());
        export.context.request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| periscope_parsers::event::bounded_text(v.as_bytes(), 256));
        if let Some(span) = &export.context.span {
            // `tracestate` travels on untouched: it belongs to the trace,
            // and Periscope has no vendor entry of its own to add.
            if let Ok(value) = http::HeaderValue::from_bytes(&span.traceparent()) {
                headers.insert(TRACEPARENT, value);
            }
        }
    }

    pub fn finish(self, exchange: Exchange) {
        self.to.exchange(self.context, exchange);
    }
}

const TRACEPARENT: &str = "traceparent";

/// The L4 path's handle, carried by a connection's tap: its sniffed
/// exchanges, and for opaque connections one summary line at the end.
pub struct ConnectionExport {
    to: Arc<ListenerExport>,
    context: ExchangeContext,
    started: Timestamp,
    protocol: Protocol,
    from_client: u64,
    to_client: u64,
}

impl ConnectionExport {
    /// `None` when the listener exports nothing.
    pub fn begin(to: &Arc<ListenerExport>, protocol: Protocol) -> Option<Box<ConnectionExport>> {
        to.is_on().then(|| {
            Box::new(ConnectionExport {
                to: to.clone(),
                context: ExchangeContext::default(),
                started: crate::pipeline::clock::now(),
                protocol,
                from_client: 0,
                to_client: 0,
            })
        })
    }

    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.context.peer = Some(peer);
    }

    pub fn set_upstream(&mut self, endpoint: &str, cluster: Option<&str>) {
        self.context.upstream = Some(endpoint.to_owned());
        self.context.cluster = cluster.map(str::to_owned);
    }

    pub fn detected(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    pub fn count(&mut self, direction: periscope_parsers::Direction, bytes: usize) {
        let bytes = bytes as u64;
        match direction {
            periscope_parsers::Direction::ClientToServer => self.from_client += bytes,
            periscope_parsers::Direction::ServerToClient => self.to_client += bytes,
        }
    }

    pub fn exchange(&self, exchange: Exchange) {
        self.to.exchange(self.context.clone(), exchange);
    }

    /// The connection ended. Connections whose protocol Periscope does not
    /// parse (TLS, unknown) get their summary line; parsed ones were logged
    /// exchange by exchange.
    pub fn close(self) {
        // The protocols with a parser; their exchanges have their own lines.
        if matches!(
            self.protocol,
            Protocol::Http1 | Protocol::Http2 | Protocol::Mongodb
        ) {
            return;
        }
        let summary = ConnectionSummary {
            protocol: self.protocol,
            started: self.started,
            finished: crate::pipeline::clock::now(),
            bytes_from_client: self.from_client,
            bytes_to_client: self.to_client,
        };
        self.to.connection(self.context, summary);
    }
}
