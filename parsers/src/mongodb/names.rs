//! The closed lists that turn command names into bounded metric labels
//! and into operation / handshake kinds.

use super::event::CommandKind;

/// Label for commands outside [`KNOWN_COMMANDS`].
pub const OTHER: &str = "_OTHER";

/// Commands whose name is a safe metric label. Sorted (bytewise) for
/// binary search; a test keeps it so.
pub const KNOWN_COMMANDS: &[&str] = &[
    "abortTransaction",
    "aggregate",
    "authenticate",
    "buildInfo",
    "buildinfo",
    "bulkWrite",
    "collMod",
    "collStats",
    "commitTransaction",
    "compact",
    "connectionStatus",
    "count",
    "create",
    "createIndexes",
    "createRole",
    "createUser",
    "currentOp",
    "dbStats",
    "delete",
    "deleteIndexes",
    "distinct",
    "drop",
    "dropDatabase",
    "dropIndexes",
    "dropUser",
    "endSessions",
    "explain",
    "find",
    "findAndModify",
    "getCmdLineOpts",
    "getLastError",
    "getLog",
    "getMore",
    "getParameter",
    "getnonce",
    "hello",
    "hostInfo",
    "insert",
    "isMaster",
    "ismaster",
    "killAllSessions",
    "killCursors",
    "killOp",
    "killSessions",
    "listCollections",
    "listDatabases",
    "listIndexes",
    "logout",
    "mapReduce",
    "ping",
    "reIndex",
    "refreshSessions",
    "renameCollection",
    "saslContinue",
    "saslStart",
    "serverStatus",
    "setParameter",
    "startSession",
    "update",
    "usersInfo",
    "validate",
    "whatsmyuri",
];

/// Handshake, heartbeat, auth and session housekeeping: counted apart from
/// operations. `getLastError` is here because it is the acknowledgement of
/// a legacy write, not an operation of its own.
pub const HANDSHAKE_COMMANDS: &[&str] = &[
    "authenticate",
    "buildInfo",
    "buildinfo",
    "connectionStatus",
    "endSessions",
    "getLastError",
    "getnonce",
    "hello",
    "isMaster",
    "ismaster",
    "logout",
    "ping",
    "saslContinue",
    "saslStart",
    "whatsmyuri",
];

/// Commands whose first value, when a string, names the collection.
pub const COLLECTION_COMMANDS: &[&str] = &[
    "aggregate",
    "collMod",
    "collStats",
    "compact",
    "count",
    "create",
    "createIndexes",
    "delete",
    "deleteIndexes",
    "distinct",
    "drop",
    "dropIndexes",
    "find",
    "findAndModify",
    "insert",
    "killCursors",
    "listIndexes",
    "mapReduce",
    "reIndex",
    "update",
    "validate",
];

/// The metric label for a command name.
pub fn label(command: &str) -> &'static str {
    KNOWN_COMMANDS
        .binary_search_by(|known| bytewise(known.as_bytes(), command.as_bytes()))
        .ok()
        .and_then(|i| KNOWN_COMMANDS.get(i).copied())
        .unwrap_or(OTHER)
}

/// The order of `str`'s `Ord`, compared byte by byte in line: command
/// names differ within their first few bytes, where a `memcmp` call per
/// probe costs more than the comparison.
fn bytewise(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

pub fn kind(command: &str) -> CommandKind {
    if HANDSHAKE_COMMANDS.contains(&command) {
        CommandKind::Handshake
    } else {
        CommandKind::Operation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_consistent() {
        for list in [KNOWN_COMMANDS, HANDSHAKE_COMMANDS, COLLECTION_COMMANDS] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
        }
        for c in HANDSHAKE_COMMANDS.iter().chain(COLLECTION_COMMANDS) {
            assert_eq!(label(c), *c);
        }
        assert_eq!(label("aggregate"), "aggregate");
        assert_eq!(label("dropEverything"), OTHER);
        assert_eq!(kind("hello"), CommandKind::Handshake);
        assert_eq!(kind("find"), CommandKind::Operation);
        for (a, b) in [
            ("", "a"),
            ("ab", "a"),
            ("find", "findAndModify"),
            ("a\u{e9}", "ab"),
        ] {
            assert_eq!(bytewise(a.as_bytes(), b.as_bytes()), a.cmp(b));
            assert_eq!(bytewise(b.as_bytes(), a.as_bytes()), b.cmp(a));
        }
        for c in KNOWN_COMMANDS {
            assert_eq!(label(c), *c);
            let prefix = &c[..c.len() - 1];
            let by_ord = KNOWN_COMMANDS
                .binary_search(&prefix)
                .map_or(OTHER, |i| KNOWN_COMMANDS[i]);
            assert_eq!(label(prefix), by_ord);
        }
    }
}
