//! mongosh (npm, in `.runtime/node`), the MongoDB shell: a second real
//! client, on the Node.js driver.
//!
//!     let out = Mongosh::eval(px.addr("edge"), "shop", "db.items.countDocuments()");
use super::runtime::require_runtime;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

pub struct Mongosh;

impl Mongosh {
    /// Runs `script` in database `db` at `addr` (direct connection, no rc
    /// file) and returns what it printed; panics if mongosh fails.
    pub fn eval(addr: SocketAddr, db: &str, script: &str) -> String {
        let bin = require_runtime("node/node_modules/.bin/mongosh", "mongosh");
        let uri = format!("mongodb://{addr}/{db}?directConnection=true");
        let out = Command::new("timeout")
            .args(["--kill-after=5", "60"])
            .arg(bin)
            .args([uri.as_str(), "--quiet", "--norc", "--eval", script])
            .stdin(Stdio::null())
            .output()
            .expect("run mongosh");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "mongosh failed ({}):\n{}\n{stdout}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}
