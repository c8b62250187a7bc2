//! Parsers for the scalar formats the config accepts. Each returns a
//! message that says what was wrong and what is allowed; the caller adds
//! file, line and path.
use std::net::SocketAddr;
use std::time::Duration;

use super::DomainMatch;

/// Timeouts above this are surely typos, and bounding them keeps
/// `Instant + timeout` in the runtime far from overflow.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Longest config object name; names become metric label values.
const MAX_NAME_LEN: usize = 64;

/// Compiled-program cap for user regexes, so a hostile pattern cannot make
/// config loading (or per-request matching) expensive.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

const DURATION_HELP: &str = "expected a number with a unit (ms, s, m, h), e.g. 250ms, 5s, 1m30s";

/// `250ms`, `5s`, `1m`, `1h`, or sums of those such as `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration \"{text}\": {DURATION_HELP}");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Some(Duration::from_millis(number)),
            "s" => Some(Duration::from_secs(number)),
            "m" => number.checked_mul(60).map(Duration::from_secs),
            "h" => number.checked_mul(3600).map(Duration::from_secs),
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = part
            .and_then(|p| total.checked_add(p))
            .filter(|t| *t <= MAX_DURATION)
            .ok_or_else(|| format!("duration \"{text}\" is too long: at most 24h"))?;
    }
    Ok(total)
}

/// Names of listeners, clusters, virtual hosts and routes.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(ok_char) {
        return Err(format!(
            "invalid name \"{name}\": use 1-{MAX_NAME_LEN} characters from a-z, A-Z, 0-9, '_', '-', '.'"
        ));
    }
    Ok(())
}

pub fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "invalid address \"{text}\": expected ip:port such as 127.0.0.1:10000 or [::1]:10000"
        )
    })
}

/// Lowercase HTTP token, as hyper's `HeaderMap` stores names.
pub fn check_header_name(name: &str) -> Result<(), String> {
    if name.starts_with(':') {
        return Err(format!(
            "invalid header name \"{name}\": pseudo-headers cannot be matched or modified"
        ));
    }
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "header name \"{name}\" must be lowercase: \"{}\"",
            name.to_ascii_lowercase()
        ));
    }
    http::HeaderName::from_lowercase(name.as_bytes())
        .map(|_| ())
        .map_err(|_| {
            format!("invalid header name \"{name}\": expected an HTTP token such as x-request-id")
        })
}

pub fn check_header_value(value: &str) -> Result<(), String> {
    http::HeaderValue::from_str(value).map(|_| ()).map_err(|_| {
        format!(
            "invalid header value {value:?}: control characters (other than tab) are not allowed"
        )
    })
}

/// `host:port` where host is a DNS name, an IPv4 address or a bracketed
/// IPv6 address; resolution is the runtime's job.
pub fn check_endpoint(text: &str) -> Result<(), String> {
    let help = "expected host:port such as 127.0.0.1:8080, localhost:8080 or [::1]:8080";
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("invalid endpoint \"{text}\": missing port; {help}"));
    };
    if let Err(e) = check_port(port) {
        return Err(format!("invalid endpoint \"{text}\": {e}"));
    }
    check_host(host).map_err(|e| format!("invalid endpoint \"{text}\": {e}; {help}"))
}

fn check_port(port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("invalid port \"{port}\": expected 1-65535")),
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .parse::<std::net::Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| format!("invalid IPv6 address \"{inner}\""));
    }
    if host.contains(':') {
        return Err("IPv6 addresses need brackets".to_owned());
    }
    if is_dns_name(host) {
        Ok(())
    } else {
        Err(format!("invalid host \"{host}\""))
    }
}

/// Letters, digits and inner hyphens in dot-separated labels (IPv4
/// addresses pass too).
fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Redirect target host: a host with an optional port.
pub fn check_authority(text: &str) -> Result<(), String> {
    let host = match text.rsplit_once(':') {
        Some((h, p)) if !text.ends_with(']') => {
            check_port(p)?;
            h
        }
        _ => text,
    };
    check_host(host)
}

/// `*`, `*.example.com` (any subdomain) or `example.com`, case-folded.
pub fn parse_domain(text: &str) -> Result<DomainMatch, String> {
    let lower = text.trim().to_ascii_lowercase();
    if lower == "*" {
        return Ok(DomainMatch::Any);
    }
    let (suffix, host) = match lower.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    if !is_dns_name(host) {
        return Err(format!(
            "invalid domain \"{text}\": expected \"*\", \"*.example.com\" or \"example.com\" (no port)"
        ));
    }
    Ok(if suffix {
        DomainMatch::Suffix(format!(".{host}"))
    } else {
        DomainMatch::Exact(host.to_owned())
    })
}

/// Compiles a regex that must match the whole subject, as Envoy's
/// `safe_regex` does; a bare `/api` must not match `/v1/api/x`.
pub fn compile_anchored(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex \"{pattern}\": {}", regex_reason(&e)))
}

/// The regex crate's syntax errors span several lines with a caret
/// diagram; keep just the reason so the problem stays on one line.
fn regex_reason(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => text
            .lines()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .unwrap_or("syntax error")
            .to_owned(),
        regex::Error::CompiledTooBig(limit) => {
            format!("pattern too large (compiled size over {limit} bytes)")
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("24h"), Ok(MAX_DURATION));
        for bad in ["", "5", "s", "1.5s", "5 s", "-1s", "5sec", "1d", "ms5"] {
            assert_eq!(
                parse_duration(bad),
                Err(format!("invalid duration \"{bad}\": {DURATION_HELP}")),
                "{bad}"
            );
        }
        assert_eq!(
            parse_duration("25h"),
            Err("duration \"25h\" is too long: at most 24h".to_owned())
        );
        assert!(parse_duration("99999999999999999999h").is_err());
        assert!(parse_duration("18446744073709551615h").is_err());
    }

    #[test]
    fn names() {
        assert!(check_name("web-1.internal_a").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn endpoints() {
        for ok in [
            "127.0.0.1:8080",
            "localhost:1",
            "[::1]:65535",
            "db-1.svc.local:27017",
        ] {
            assert_eq!(check_endpoint(ok), Ok(()), "{ok}");
        }
        assert!(check_endpoint("localhost")
            .unwrap_err()
            .contains("missing port"));
        assert!(check_endpoint("h:0")
            .unwrap_err()
            .contains("invalid port \"0\""));
        assert!(check_endpoint("h:65536").is_err());
        assert!(check_endpoint("::1:80").unwrap_err().contains("brackets"));
        assert!(check_endpoint(":80").is_err());
        assert!(check_endpoint("a_b:80").is_err());
    }

    #[test]
    fn domains() {
        assert_eq!(parse_domain("*"), Ok(DomainMatch::Any));
        assert_eq!(
            parse_domain("*.Example.COM"),
            Ok(DomainMatch::Suffix(".example.com".into()))
        );
        assert_eq!(
            parse_domain("Example.com"),
            Ok(DomainMatch::Exact("example.com".into()))
        );
        for bad in ["example.com:80", "*.", "a.*", "", "ex ample.com"] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers() {
        assert!(check_header_name("x-env").is_ok());
        assert_eq!(
            check_header_name("X-Env"),
            Err("header name \"X-Env\" must be lowercase: \"x-env\"".to_owned())
        );
        assert!(check_header_name("x env").is_err());
        assert!(check_header_name(":authority").is_err());
        assert!(check_header_value("a\tb").is_ok());
        assert!(check_header_value("a\nb").is_err());
    }

    #[test]
    fn regexes_are_anchored_and_reasons_are_one_line() {
        let re = compile_anchored("/api/v[0-9]+").unwrap();
        assert!(re.is_match("/api/v1"));
        assert!(!re.is_match("/x/api/v1"));
        assert!(!re.is_match("/api/v1/x"));
        assert_eq!(
            compile_anchored("a(b").unwrap_err(),
            "invalid regex \"a(b\": unclosed group"
        );
        assert!(compile_anchored("a{1000}{1000}")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn authorities() {
        assert!(check_authority("example.com").is_ok());
        assert!(check_authority("example.com:8443").is_ok());
        assert!(check_authority("[::1]").is_ok());
        assert!(check_authority("[::1]:80").is_ok());
        assert!(check_authority("exa mple").is_err());
    }
}
