//! Routing validation rules: virtual hosts, domains, matches, actions and
//! header manipulation.
use super::{assert_problem, problems};

/// One http listener with one virtual host holding `routes` (a YAML block
/// indented for the `routes:` key) and a cluster `web`. Routes start on
/// line 8.
fn with_routes(routes: &str) -> String {
    let mut yaml = String::from(
        "listeners:\n\
         \x20 - name: l\n\
         \x20   address: 127.0.0.1:1\n\
         \x20   protocol: http\n\
         \x20   virtual_hosts:\n\
         \x20     - name: v\n\
         \x20       routes:\n",
    );
    for line in super::dedent(routes).lines() {
        yaml.push_str("          ");
        yaml.push_str(line);
        yaml.push('\n');
    }
    yaml.push_str("clusters: [ { name: web, endpoints: [\"h:1\"] } ]\n");
    yaml
}

const R: &str = "listeners[0].virtual_hosts[0].routes";

fn route_problems(routes: &str) -> Vec<String> {
    match super::super::load_str("t.yaml", &with_routes(routes)) {
        Ok(_) => panic!("config unexpectedly valid:\n{}", with_routes(routes)),
        Err(e) => e.to_string().lines().map(str::to_owned).collect(),
    }
}

#[test]
fn the_route_helper_builds_a_valid_config() {
    let ok = with_routes("- { name: r, match: { prefix: / }, route: { cluster: web } }");
    assert!(super::super::load_str("t.yaml", &ok).is_ok(), "{ok}");
}

#[test]
fn route_cluster_must_exist() {
    assert_eq!(
        route_problems(
            "
            - name: api
              match: { prefix: /api }
              route: { cluster: webb, timeout: 15s }
            "
        ),
        [format!(
            r#"t.yaml:10:31: {R}[0].route.cluster: unknown cluster "webb" (known: web)"#
        )]
    );
}

#[test]
fn exactly_one_path_match() {
    assert_eq!(
        route_problems(
            "
            - { name: a, match: { }, direct_response: { status: 200 } }
            - { name: b, match: { prefix: /, regex: x }, direct_response: { status: 200 } }
            "
        ),
        [
            format!("t.yaml:8:31: {R}[0].match: exactly one of prefix, path, regex is required"),
            format!("t.yaml:9:51: {R}[1].match.regex: only one of prefix, path, regex is allowed, but prefix is also set"),
        ]
    );
}

#[test]
fn exactly_one_action() {
    assert_eq!(
        route_problems(
            "
            - { name: a, match: { prefix: / } }
            - name: b
              match: { prefix: / }
              route: { cluster: web }
              redirect: { path: /x }
            "
        ),
        [
            format!("t.yaml:8:13: {R}[0]: exactly one of route, direct_response, redirect is required"),
            format!("t.yaml:12:23: {R}[1].redirect: only one of route, direct_response, redirect is allowed, but route is also set"),
        ]
    );
}

#[test]
fn paths_start_with_a_slash_and_regexes_compile() {
    assert_eq!(
        route_problems(
            r#"
            - { name: a, match: { prefix: api }, route: { cluster: web } }
            - { name: b, match: { path: healthz }, route: { cluster: web } }
            - { name: c, match: { regex: "/v(" }, route: { cluster: web } }
            "#
        ),
        [
            format!(r#"t.yaml:8:41: {R}[0].match.prefix: prefix "api" must start with '/'"#),
            format!(r#"t.yaml:9:39: {R}[1].match.path: path "healthz" must start with '/'"#),
            format!(r#"t.yaml:10:40: {R}[2].match.regex: invalid regex "/v(": unclosed group"#),
        ]
    );
}

#[test]
fn header_matches() {
    assert_eq!(
        route_problems(
            r#"
            - name: a
              match:
                prefix: /
                headers:
                  - { name: X-Env, exact: prod }
                  - { name: x-a, exact: a, prefix: b }
                  - { name: x-b }
                  - { name: x-c, present: false }
                  - { name: x-d, regex: "(" }
              route: { cluster: web }
            "#
        ),
        [
            format!(r#"t.yaml:12:27: {R}[0].match.headers[0].name: header name "X-Env" must be lowercase: "x-env""#),
            format!("t.yaml:13:50: {R}[0].match.headers[1].prefix: only one of exact, prefix, regex, present is allowed, but exact is also set"),
            format!("t.yaml:14:19: {R}[0].match.headers[2]: exactly one of exact, prefix, regex, present is required"),
            format!("t.yaml:15:41: {R}[0].match.headers[3].present: present must be true; to require that a header is absent use present: true with invert: true"),
            format!(r#"t.yaml:16:39: {R}[0].match.headers[4].regex: invalid regex "(": unclosed group"#),
        ]
    );
}

#[test]
fn direct_response_status_and_body() {
    let big = "x".repeat(64 * 1024 + 1);
    assert_eq!(
        route_problems(&format!(
            "
            - {{ name: a, match: {{ prefix: / }}, direct_response: {{ status: 101 }} }}
            - {{ name: b, match: {{ prefix: / }}, direct_response: {{ status: 70000 }} }}
            - {{ name: c, match: {{ prefix: / }}, direct_response: {{ status: 200, body: {big} }} }}
            "
        )),
        [
            format!("t.yaml:8:73: {R}[0].direct_response.status: status 101 is not a final HTTP status code (200-599)"),
            format!("t.yaml:9:73: {R}[1].direct_response.status: status 70000 is not a final HTTP status code (200-599)"),
            format!("t.yaml:10:84: {R}[2].direct_response.body: body is 65537 bytes; at most 65536 are allowed"),
        ]
    );
}

#[test]
fn redirects() {
    assert_eq!(
        route_problems(
            "
            - { name: a, match: { prefix: / }, redirect: { path: /n, response_code: 200 } }
            - { name: b, match: { prefix: / }, redirect: { } }
            - { name: c, match: { prefix: / }, redirect: { scheme: ftp, host: 'a b', path: n } }
            "
        ),
        [
            format!("t.yaml:8:83: {R}[0].redirect.response_code: response_code 200 is not a redirect code (allowed: 301, 302, 303, 307, 308)"),
            format!("t.yaml:9:56: {R}[1].redirect: a redirect needs at least one of scheme, host, path (otherwise it redirects to itself)"),
            format!(r#"t.yaml:10:66: {R}[2].redirect.scheme: unknown scheme "ftp" (allowed: http, https)"#),
            format!(r#"t.yaml:10:77: {R}[2].redirect.host: invalid redirect host: invalid host "a b""#),
            format!(r#"t.yaml:10:90: {R}[2].redirect.path: path "n" must start with '/'"#),
        ]
    );
}

#[test]
fn header_manipulation() {
    assert_eq!(
        route_problems(
            r#"
            - name: a
              match: { prefix: / }
              route: { cluster: web }
              request_headers_to_add: [ { name: "x y", value: ok }, { name: x-ok, value: "a\nb" } ]
              request_headers_to_remove: [ X-Debug ]
              response_headers_to_add: [ { name: ":status", value: "200" } ]
              response_headers_to_remove: [ "" ]
            "#
        ),
        [
            format!(
                r#"t.yaml:11:47: {R}[0].request_headers_to_add[0].name: invalid header name "x y": expected an HTTP token such as x-request-id"#
            ),
            format!(
                r#"t.yaml:11:88: {R}[0].request_headers_to_add[1].value: invalid header value "a\nb": control characters (other than tab) are not allowed"#
            ),
            format!(
                r#"t.yaml:12:42: {R}[0].request_headers_to_remove[0]: header name "X-Debug" must be lowercase: "x-debug""#
            ),
            format!(
                r#"t.yaml:13:48: {R}[0].response_headers_to_add[0].name: invalid header name ":status": pseudo-headers cannot be matched or modified"#
            ),
            format!(
                r#"t.yaml:14:43: {R}[0].response_headers_to_remove[0]: invalid header name "": expected an HTTP token such as x-request-id"#
            ),
        ]
    );
}

#[test]
fn route_timeout_parses() {
    assert_eq!(
        route_problems("- { name: a, match: { prefix: / }, route: { cluster: web, timeout: 1d } }"),
        [format!(
            r#"t.yaml:8:78: {R}[0].route.timeout: invalid duration "1d": expected a number with a unit (ms, s, m, h), e.g. 250ms, 5s, 1m30s"#
        )]
    );
}

#[test]
fn route_names_unique_within_a_virtual_host_and_routes_required() {
    assert_eq!(
        problems(
            r#"
            listeners:
              - name: l
                address: 127.0.0.1:1
                virtual_hosts:
                  - name: v
                    routes:
                      - { name: r, match: { prefix: / }, route: { cluster: c } }
                      - { name: r, match: { prefix: / }, route: { cluster: c } }
                  - name: w
                    domains: [a.com]
                    routes: []
            clusters: [ { name: c, endpoints: ["h:1"] } ]
            "#
        ),
        [
            r#"t.yaml:8:21: listeners[0].virtual_hosts[0].routes[1].name: route name "r" is already used by listeners[0].virtual_hosts[0].routes[0]"#,
            "t.yaml:11:17: listeners[0].virtual_hosts[1].routes: at least one route is required",
        ]
    );
}

#[test]
fn virtual_host_domains() {
    assert_eq!(
        problems(
            r#"
            listeners:
              - name: l
                address: 127.0.0.1:1
                virtual_hosts:
                  - name: v
                    domains: ["Example.com", "example.com:80", "EXAMPLE.com"]
                    routes: [ { name: r, match: { prefix: / }, route: { cluster: c } } ]
                  - name: v
                    domains: ["*.example.com", "example.com"]
                    routes: [ { name: r, match: { prefix: / }, route: { cluster: c } } ]
                  - name: x
                    domains: []
                    routes: [ { name: r, match: { prefix: / }, route: { cluster: c } } ]
            clusters: [ { name: c, endpoints: ["h:1"] } ]
            "#
        ),
        [
            r#"t.yaml:6:34: listeners[0].virtual_hosts[0].domains[1]: invalid domain "example.com:80": expected "*", "*.example.com" or "example.com" (no port)"#,
            r#"t.yaml:6:52: listeners[0].virtual_hosts[0].domains[2]: duplicate domain "example.com""#,
            r#"t.yaml:8:15: listeners[0].virtual_hosts[1].name: virtual host name "v" is already used by listeners[0].virtual_hosts[0]"#,
            r#"t.yaml:9:36: listeners[0].virtual_hosts[1].domains[1]: domain "example.com" is already used by virtual host "v""#,
            r#"t.yaml:12:18: listeners[0].virtual_hosts[2].domains: at least one domain is required ("*" matches any host)"#,
        ]
    );
}

#[test]
fn single_route_problem_via_assert_problem() {
    assert_problem(
        r#"
        listeners:
          - name: l
            address: 127.0.0.1:1
            virtual_hosts: [ { name: v, routes: [ { name: r, match: { path: / }, route: { cluster: nope } } ] } ]
        "#,
        r#"t.yaml:4:92: listeners[0].virtual_hosts[0].routes[0].route.cluster: unknown cluster "nope" (no clusters are defined)"#,
    );
}
