//! HTTP/1.1 upgrades: WebSocket, or any other protocol a listener lists in
//! `upgrade_configs` (Envoy's). The request goes to an HTTP/1.1 upstream
//! with its `Upgrade`; a `101` answer turns the client's and the upstream's
//! connections into a byte relay, as in Envoy. The relayed bytes are not
//! parsed: the exchange recorded is the upgrade request and its `101`.
//!
//! A request asking for a type its route does not enable gets 403, as
//! Envoy answers it (`upgrade_failed`); one with a body gets 400. The
//! upstream client accepts a `101` only for a request marked
//! `UpgradeRequested` and naming that protocol (else 502), and never pools
//! a connection that carried an upgrade request.
use super::h1::Switched;
use super::HttpListener;
use crate::config::{allowed_upgrades, ListenerConfig, RouteConfig};
use crate::l4::Downstream;
use crate::pipeline::Families;
use bytes::BytesMut;
use http::header::{CONNECTION, UPGRADE};
use http::{HeaderMap, HeaderValue, Version};
use prometheus::{IntCounter, IntGauge};
use tokio::net::TcpStream;

/// Label for upgrade types the listener does not list.
const OTHER: &str = "_OTHER";

/// The `Upgrade` value of an HTTP/1.1 request whose `Connection` lists
/// `upgrade`. HTTP/2's own `h2c` upgrade is not one: as in Envoy, that
/// request goes on as HTTP/1.1 without it.
pub fn requested(version: Version, headers: &HeaderMap) -> Option<&HeaderValue> {
    if version != Version::HTTP_11 {
        return None;
    }
    let upgrade = headers.get(UPGRADE)?;
    let listed = headers.get_all(CONNECTION).iter().any(|value| {
        value
            .to_str()
            .unwrap_or("")
            .split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
    });
    (listed && !upgrade.as_bytes().eq_ignore_ascii_case(b"h2c")).then_some(upgrade)
}

/// The upgrade types one route relays (lowercase), each with its
/// `upgraded` and `declined` counters resolved when the route is built:
/// counting an upgrade costs no label lookup.
#[derive(Default)]
pub struct RouteUpgrades {
    types: Box<[Box<str>]>,
    counters: Box<[[IntCounter; 2]]>,
}

impl RouteUpgrades {
    pub fn new(
        families: &Families,
        listener: &ListenerConfig,
        route: &RouteConfig,
    ) -> RouteUpgrades {
        let allowed = allowed_upgrades(&listener.upgrade_configs, &route.upgrade_configs);
        let counter = |kind: &str, result: UpgradeResult| {
            let labels = [listener.name.as_str(), kind, result.as_str()];
            families.http_upgrades.with_label_values(&labels)
        };
        let counters = allowed
            .iter()
            .map(|kind| {
                [
                    counter(kind, UpgradeResult::Upgraded),
                    counter(kind, UpgradeResult::Declined),
                ]
            })
            .collect();
        let types = allowed.into_iter().map(String::into_boxed_str).collect();
        RouteUpgrades { types, counters }
    }

    /// Whether the route relays no upgrade at all (most routes).
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// Which of the route's types `value` asks for, if any. A `u8` (a
    /// listener lists at most 16 types): the handler keeps it while the
    /// request is forwarded, and a byte keeps that future's size.
    pub fn position(&self, value: &HeaderValue) -> Option<u8> {
        let value = value.as_bytes();
        let index = self
            .types
            .iter()
            .position(|t| t.as_bytes().eq_ignore_ascii_case(value))?;
        u8::try_from(index).ok()
    }

    /// The upstream switched: the relay to come counts as upgraded once
    /// it starts (the client may be gone before).
    pub fn switch(&self, index: u8, switched: Switched) -> Switch {
        let upgraded = self
            .counters
            .get(usize::from(index))
            .map(|[up, _]| up.clone());
        Switch { switched, upgraded }
    }

    /// The upstream answered an allowed upgrade without switching.
    pub fn count_declined(&self, index: u8) {
        if let Some([_, declined]) = self.counters.get(usize::from(index)) {
            declined.inc();
        }
    }
}

/// A `101` on its way to the client: the upstream connection it came on
/// and the counter of its route and type (a response extension, hence
/// `Clone`).
#[derive(Clone)]
pub struct Switch {
    switched: Switched,
    upgraded: Option<IntCounter>,
}

#[derive(Debug, Clone, Copy)]
enum UpgradeResult {
    Upgraded,
    Refused,
    Declined,
}

impl UpgradeResult {
    fn as_str(self) -> &'static str {
        match self {
            UpgradeResult::Upgraded => "upgraded",
            UpgradeResult::Refused => "refused",
            UpgradeResult::Declined => "declined",
        }
    }
}

/// A listener's upgrade telemetry. The `refused` counters are resolved
/// with the listener, one per listed type and one for `_OTHER`: refusing
/// costs no label lookup either.
pub struct UpgradeMetrics {
    /// The types the listener lists: the only `upgrade_type` labels.
    listed: Box<[Box<str>]>,
    /// `refused` per listed type, then `_OTHER`'s.
    refused: Box<[IntCounter]>,
    active: IntGauge,
}

impl UpgradeMetrics {
    pub fn new(families: &Families, config: &ListenerConfig) -> UpgradeMetrics {
        let listed: Box<[Box<str>]> = (config.upgrade_configs.iter())
            .map(|c| c.upgrade_type.clone().into())
            .collect();
        let refused = (listed.iter().map(|t| &**t))
            .chain([OTHER])
            .map(|kind| {
                let labels = [config.name.as_str(), kind, UpgradeResult::Refused.as_str()];
                families.http_upgrades.with_label_values(&labels)
            })
            .collect();
        UpgradeMetrics {
            listed,
            refused,
            active: (families.http_upgrades_active).with_label_values(&[config.name.as_str()]),
        }
    }

    /// Counts a refused upgrade (403, or 400 with a body): its type if the
    /// listener lists it.
    pub fn count_refused(&self, value: &HeaderValue) {
        let value = value.as_bytes();
        let index = (self.listed.iter())
            .position(|t| t.as_bytes().eq_ignore_ascii_case(value))
            .unwrap_or(self.listed.len());
        if let Some(refused) = self.refused.get(index) {
            refused.inc();
        }
    }
}

/// The upstream connection of a `101`, out of its response. A plain
/// function taking and giving back the response: the HTTP/1 server
/// borrowing it in place kept a second copy in every connection's future.
pub fn take_switch<B>(mut response: http::Response<B>) -> (http::Response<B>, Option<Switch>) {
    let switch = match response.status() {
        http::StatusCode::SWITCHING_PROTOCOLS => response.extensions_mut().remove::<Switch>(),
        _ => None,
    };
    (response, switch)
}

/// [`relay`], boxed by a plain function: the HTTP/1 server awaits it, and
/// a future built inline there (even to be boxed) would make every
/// connection's future larger, idle ones included.
pub fn relay_boxed<'a>(
    listener: &'a HttpListener,
    client: TcpStream,
    client_sent: BytesMut,
    switch: Switch,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
    Box::pin(relay(
        listener,
        Downstream::Plain(client),
        client_sent,
        switch,
    ))
}

/// Relays an upgraded connection until both sides have ended, or neither
/// sent a byte for the listener's `stream_idle_timeout` (Envoy applies
/// its stream idle timeout to upgraded streams too). `client_sent` is what
/// the client sent after its request head, the upstream's early bytes
/// what came after its `101`.
pub async fn relay(
    listener: &HttpListener,
    mut client: Downstream,
    client_sent: BytesMut,
    switch: Switch,
) {
    let Some(mut upstream) = switch.switched.take() else {
        return;
    };
    if let Some(upgraded) = &switch.upgraded {
        upgraded.inc();
    }
    let metrics = &listener.metrics;
    let _active = Active::count(&listener.upgrades.active);
    let (stream, upstream_sent) = upstream.switched();
    let counters = crate::l4::Counters {
        from_client: metrics.bytes_received.clone(),
        to_client: metrics.bytes_sent.clone(),
        idle_timeouts: metrics.idle_timeouts.clone(),
    };
    let early = crate::l4::Early {
        to_upstream: &client_sent,
        to_client: &upstream_sent,
    };
    let idle = listener.stream_idle_timeout;
    let relayed = crate::l4::relay_io(&mut client, stream, early, None, &counters, idle);
    if let Err(err) = relayed.await {
        let listener = metrics.name();
        tracing::debug!(listener, "upgraded connection ended: {err}");
    }
}

/// One relaying connection in the active gauge, however its task ends.
struct Active<'a>(&'a IntGauge);

impl<'a> Active<'a> {
    fn count(gauge: &'a IntGauge) -> Active<'a> {
        gauge.inc();
        Active(gauge)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn an_upgrade_needs_both_fields_on_http_1_1_and_is_not_h2c() {
        let ws = headers(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
        ]);
        assert_eq!(requested(Version::HTTP_11, &ws).unwrap(), "websocket");
        assert!(requested(Version::HTTP_10, &ws).is_none());
        assert!(requested(Version::HTTP_2, &ws).is_none());
        let unlisted = headers(&[("connection", "keep-alive"), ("upgrade", "websocket")]);
        assert!(requested(Version::HTTP_11, &unlisted).is_none());
        assert!(requested(Version::HTTP_11, &headers(&[("connection", "upgrade")])).is_none());
        let h2c = headers(&[
            ("connection", "Upgrade, HTTP2-Settings"),
            ("upgrade", "h2c"),
        ]);
        assert!(requested(Version::HTTP_11, &h2c).is_none());
    }

    #[test]
    fn types_compare_without_case() {
        let route = RouteUpgrades {
            types: vec!["spdy/3".into(), "websocket".into()].into_boxed_slice(),
            counters: Box::default(),
        };
        assert_eq!(
            route.position(&HeaderValue::from_static("WebSocket")),
            Some(1)
        );
        assert_eq!(
            route.position(&HeaderValue::from_static("websocket2")),
            None
        );
        let none = RouteUpgrades::default();
        assert_eq!(none.position(&HeaderValue::from_static("websocket")), None);
        assert!(none.is_empty());
    }
}
