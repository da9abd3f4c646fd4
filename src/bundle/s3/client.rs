//! The SDK client: ring-based rustls (the process's one crypto provider), the standard
//! credential and region chain, retries with backoff, checksums only where S3 requires them
//! (S3-compatible stores reject the SDK's default CRC trailers), and path-style addressing for
//! `--s3-endpoint`.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::S3Error;

/// A client and where it sends requests (for messages).
pub(super) struct Store {
    pub client: aws_sdk_s3::Client,
    /// The endpoint as said in messages: `--s3-endpoint`, or AWS's for the region.
    pub endpoint: String,
}

/// Attempts per request (the first and its retries).
const ATTEMPTS: u32 = 4;

pub(super) async fn connect(endpoint: Option<&str>) -> Result<Store, S3Error> {
    if let Some(e) = endpoint
        && !(e.starts_with("http://") || e.starts_with("https://"))
    {
        return Err(S3Error::BadEndpoint {
            endpoint: e.to_string(),
        });
    }
    // Idempotent; the SDK's client is built for ring below, never a second provider.
    crate::tls::install_crypto_provider();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let retry = RetryConfig::standard()
        .with_max_attempts(ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(300))
        .with_max_backoff(Duration::from_secs(5));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry)
        .timeout_config(timeouts)
        // A store busy with a previous part may not read for a while; the SDK's default (5 s
        // without progress fails the request) cut uploads to a loaded server in the tests.
        .stalled_stream_protection(
            StalledStreamProtectionConfig::enabled()
                .grace_period(Duration::from_secs(60))
                .build(),
        )
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
    if let Some(e) = endpoint {
        loader = loader.endpoint_url(e);
    }
    let sdk = loader.load().await;
    let mut config = aws_sdk_s3::config::Builder::from(&sdk);
    let region = match (sdk.region(), endpoint) {
        (Some(r), _) => r.to_string(),
        // S3-compatible stores sign with any region; us-east-1 is what they expect by default.
        (None, Some(_)) => {
            config = config.region(Region::new("us-east-1"));
            "us-east-1".to_string()
        }
        (None, None) => return Err(S3Error::NoRegion),
    };
    if endpoint.is_some() {
        config = config.force_path_style(true);
    }
    Ok(Store {
        client: aws_sdk_s3::Client::from_conf(config.build()),
        endpoint: endpoint.map_or_else(
            || format!("https://s3.{region}.amazonaws.com"),
            str::to_string,
        ),
    })
}

/// What a failed request says, on one line: the store's status, code and message, or the
/// transport's chain of causes (the SDK names requests and causes, never credentials; its raw
/// response, which the Debug form would add, is left out).
pub(super) fn cause<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let SdkError::ServiceError(s) = e {
        let status = s.raw().status().as_u16();
        let err = s.err();
        if err.code().is_some() || err.message().is_some() {
            return format!(
                "the store answered {status} {}: {}",
                err.code().unwrap_or("(no code)"),
                err.message().unwrap_or("(no message)")
            );
        }
        return format!("the store answered {status}: {}", chain(err));
    }
    chain(e)
}

/// An error and its sources, `: `-joined, each said once.
pub(super) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ").replace('\n', " ")
}
