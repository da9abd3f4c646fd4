//! The case's size cap: bytes are reserved before they are written, so a capture stops before
//! the cap, not after it.

use std::sync::atomic::{AtomicU64, Ordering};

use super::error::CaseError;

#[derive(Debug)]
pub struct Budget {
    case_id: String,
    cap: u64,
    used: AtomicU64,
}

impl Budget {
    pub fn new(case_id: &str, cap: u64, used: u64) -> Self {
        Budget {
            case_id: case_id.to_string(),
            cap,
            used: AtomicU64::new(used),
        }
    }

    /// Reserve `n` bytes, or refuse with [`CaseError::CapReached`].
    pub fn reserve(&self, n: u64) -> Result<(), CaseError> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.cap)
            })
            .map(|_| ())
            .map_err(|used| CaseError::CapReached {
                case_id: self.case_id.clone(),
                used,
                cap: self.cap,
                needed: n,
            })
    }

    /// Count bytes written outside the cap's control (journal lines).
    pub fn add(&self, n: u64) {
        self.used.fetch_add(n, Ordering::AcqRel);
    }

    /// Give back a reservation that was not written.
    pub fn release(&self, n: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                Some(u.saturating_sub(n))
            });
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    pub fn cap(&self) -> u64 {
        self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_stop_at_the_cap() {
        let b = Budget::new("c", 100, 90);
        b.reserve(10).unwrap();
        let err = b.reserve(1).unwrap_err();
        assert!(matches!(
            err,
            CaseError::CapReached {
                used: 100,
                cap: 100,
                needed: 1,
                ..
            }
        ));
        b.release(10);
        assert_eq!(b.used(), 90);
        b.reserve(10).unwrap();
    }
}
