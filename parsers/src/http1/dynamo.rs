//! Feeds the DynamoDB refiner from the HTTP/1 wire parser (the L4 path).
//!
//! One `DynamoTrack` rides on a pending request whose head said DynamoDB.
//! It keeps a bounded prefix of the request body until the request ends,
//! reads it into a refiner and drops the buffer, then keeps a bounded prefix
//! of the response body until the exchange is emitted. HTTP/1 reads one
//! request body and one response body at a time, so a connection holds at
//! most two prefixes, whatever its pipelining depth.

use super::head::{AwsFields, ContentType};
use crate::dynamodb::{is_dynamodb, BodyPrefix, DynamoCall, DynamoRefiner};

/// DynamoDB sniffing settings (per listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DynamoOptions {
    /// Most body bytes kept per request and per response; 0 turns the
    /// refiner off.
    pub body_prefix: usize,
}

impl Default for DynamoOptions {
    fn default() -> Self {
        DynamoOptions {
            body_prefix: crate::dynamodb::DEFAULT_BODY_PREFIX,
        }
    }
}

#[derive(Debug)]
pub struct DynamoTrack {
    cap: usize,
    target: Vec<u8>,
    request_encoded: bool,
    request: Option<BodyPrefix>,
    refiner: Option<DynamoRefiner>,
    response: Option<Response>,
}

#[derive(Debug)]
struct Response {
    status: u16,
    aws: AwsFields,
    body: BodyPrefix,
}

impl DynamoTrack {
    /// A track when the request head says DynamoDB and the refiner is on.
    pub fn begin(aws: &mut AwsFields, options: DynamoOptions) -> Option<Box<DynamoTrack>> {
        if options.body_prefix == 0 {
            return None;
        }
        let content_type = match aws.content_type {
            ContentType::Absent => None,
            ContentType::AmzJson10 => Some(crate::dynamodb::CONTENT_TYPE),
            ContentType::Other => Some(&b"other"[..]),
        };
        if !is_dynamodb(aws.target.as_deref(), content_type) {
            return None;
        }
        Some(Box::new(DynamoTrack {
            cap: options.body_prefix,
            target: aws.target.take().unwrap_or_default(),
            request_encoded: aws.encoded,
            request: Some(BodyPrefix::new(options.body_prefix)),
            refiner: None,
            response: None,
        }))
    }

    pub fn request_data(&mut self, data: &[u8]) {
        if let Some(prefix) = &mut self.request {
            prefix.push(data);
        }
    }

    /// The request body ended: read it and release its buffer.
    pub fn request_end(&mut self) {
        if self.refiner.is_some() {
            return;
        }
        let prefix = self.request.take();
        let refiner = match (&prefix, self.request_encoded) {
            (Some(p), false) => DynamoRefiner::request(&self.target, p.bytes(), p.truncated()),
            (_, true) => {
                let mut r = DynamoRefiner::request(&self.target, b"", false);
                r.mark_request_encoded();
                r
            }
            (None, false) => DynamoRefiner::request(&self.target, b"", false),
        };
        self.refiner = Some(refiner);
    }

    /// A final response head arrived.
    pub fn response_head(&mut self, status: u16, aws: AwsFields) {
        self.request_end();
        self.response = Some(Response {
            status,
            aws,
            body: BodyPrefix::new(self.cap),
        });
    }

    pub fn response_data(&mut self, data: &[u8]) {
        if let Some(response) = &mut self.response {
            response.body.push(data);
        }
    }

    /// The call, with whatever was seen: a request cut short is read as
    /// far as it came; no response head means no response fields.
    pub fn finish(mut self) -> DynamoCall {
        self.request_end();
        let Some(refiner) = self.refiner.take() else {
            return DynamoCall::default();
        };
        match self.response.take() {
            Some(r) => refiner.response_streamed(r.status, r.aws.pairs(), &r.body),
            None => refiner.without_response(),
        }
    }
}
