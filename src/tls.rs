//! One rustls crypto provider (ring) for the whole process: kube and any later TLS client use it.

/// Install ring as the process-wide rustls provider. Idempotent.
pub fn install_crypto_provider() {
    // Err means a provider is already installed (by us, earlier): nothing to do.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
