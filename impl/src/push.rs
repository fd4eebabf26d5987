//! The push service (FCM-like): server-to-app messages keyed by a per-installation token
//! (R-TOKEN, R-DELETE, 課題2).
//!
//! A [`Token`] names one installation of the JPKI app on one phone: the phone and the
//! installation number. Uninstalling the app or a factory reset makes the token invalid; a
//! re-installation gets a new installation number and so a new token. Messages wait in a
//! queue, in send order; the caller (the system, a test, or [`PushService::pick`] with a
//! seeded ChaCha20 RNG) decides which pending message is delivered or dropped. Delivery is
//! NOT guaranteed: a message is never delivered to an offline phone or to an invalid token
//! ([`PushError::Undeliverable`]); it stays pending until delivered or dropped.

use crate::ca::{CertKind, PhoneId, Serial};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::fmt;

/// A push token: one installation of the JPKI app on one phone (R-TOKEN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token {
    /// The phone the app was installed on.
    pub phone: PhoneId,
    /// The installation number (unique over the whole system).
    pub installation: u32,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/install-{}", self.phone, self.installation)
    }
}

/// What a push carries: delete the credential with this serial (R-DELETE,
/// INV-NO-STALE-DELETE: the serial, not just the kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletionNotice {
    /// The revoked certificate's serial.
    pub serial: Serial,
    /// Its kind (the applet slot).
    pub kind: CertKind,
}

/// A message waiting in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingPush {
    /// The token it is addressed to.
    pub token: Token,
    /// The notice.
    pub notice: DeletionNotice,
}

/// Why a push could not be delivered or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// No pending message with this index.
    NoSuchPush {
        /// The index asked for.
        index: usize,
        /// How many are pending.
        pending: usize,
    },
    /// The message cannot reach its app now; it stays pending.
    Undeliverable {
        /// The token.
        token: Token,
        /// Why.
        why: Undeliverable,
    },
}

/// Why a message cannot be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undeliverable {
    /// The phone is offline (or broken).
    PhoneOffline,
    /// The token is no longer valid (app uninstalled, factory reset, re-installed).
    InvalidToken,
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::NoSuchPush { index, pending } => {
                write!(f, "no pending push {index} ({pending} pending)")
            }
            PushError::Undeliverable { token, why } => match why {
                Undeliverable::PhoneOffline => write!(f, "push to {token}: phone offline"),
                Undeliverable::InvalidToken => write!(f, "push to {token}: token invalid"),
            },
        }
    }
}

impl std::error::Error for PushError {}

/// The push service's queue (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct PushService {
    queue: Vec<PendingPush>,
}

impl PushService {
    /// An empty service.
    pub fn new() -> Self {
        PushService::default()
    }

    /// Queue `notice` for `token` (at the end: send order).
    pub fn send(&mut self, token: Token, notice: DeletionNotice) {
        self.queue.push(PendingPush { token, notice });
    }

    /// The pending messages in send order.
    pub fn pending(&self) -> &[PendingPush] {
        &self.queue
    }

    /// Deliver pending message `index`: `reachable(token)` says whether the token's phone is
    /// online and whether the token is still valid. On success the message leaves the queue
    /// and is returned for the app to act on; otherwise the queue is unchanged.
    pub fn deliver(
        &mut self,
        index: usize,
        reachable: impl Fn(Token) -> Result<(), Undeliverable>,
    ) -> Result<PendingPush, PushError> {
        let msg = *self.queue.get(index).ok_or(PushError::NoSuchPush {
            index,
            pending: self.queue.len(),
        })?;
        reachable(msg.token).map_err(|why| PushError::Undeliverable {
            token: msg.token,
            why,
        })?;
        Ok(self.queue.remove(index))
    }

    /// Drop pending message `index` (lost by the service, 課題2).
    pub fn drop_push(&mut self, index: usize) -> Result<PendingPush, PushError> {
        if index >= self.queue.len() {
            return Err(PushError::NoSuchPush {
                index,
                pending: self.queue.len(),
            });
        }
        Ok(self.queue.remove(index))
    }

    /// A random pending index and whether to deliver it (`true`) or drop it, from `rng`; `None`
    /// when nothing is pending. For randomised runs driven by an explicit seed.
    pub fn pick(&self, rng: &mut ChaCha20Rng) -> Option<(usize, bool)> {
        let n = self.queue.len();
        if n == 0 {
            return None;
        }
        let r = rng.next_u64();
        let index = (r % n as u64) as usize;
        Some((index, (r >> 32) & 1 == 0))
    }

    /// A ChaCha20 RNG for [`PushService::pick`] from a seed.
    pub fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(h: u32, i: u32) -> Token {
        Token {
            phone: PhoneId(h),
            installation: i,
        }
    }

    fn notice(s: u64) -> DeletionNotice {
        DeletionNotice {
            serial: Serial(s),
            kind: CertKind::Auth,
        }
    }

    #[test]
    fn delivery_in_any_order_and_refusals_keep_the_queue() {
        let mut p = PushService::new();
        p.send(tok(0, 1), notice(10));
        p.send(tok(1, 2), notice(11));
        let offline = |t: Token| {
            if t.phone == PhoneId(0) {
                Err(Undeliverable::PhoneOffline)
            } else {
                Ok(())
            }
        };
        assert_eq!(
            p.deliver(0, offline),
            Err(PushError::Undeliverable {
                token: tok(0, 1),
                why: Undeliverable::PhoneOffline
            })
        );
        assert_eq!(p.pending().len(), 2);
        assert_eq!(p.deliver(1, offline).map(|m| m.notice), Ok(notice(11)));
        assert_eq!(
            p.deliver(1, offline),
            Err(PushError::NoSuchPush {
                index: 1,
                pending: 1
            })
        );
        assert_eq!(p.drop_push(0).map(|m| m.token), Ok(tok(0, 1)));
        assert!(p.pending().is_empty());
        assert_eq!(p.pick(&mut PushService::rng(1)), None);
    }

    #[test]
    fn seeded_pick_is_deterministic_and_in_range() {
        let mut p = PushService::new();
        for s in 0..5 {
            p.send(tok(0, 1), notice(s));
        }
        let a: Vec<_> = {
            let mut r = PushService::rng(42);
            (0..20).filter_map(|_| p.pick(&mut r)).collect()
        };
        let b: Vec<_> = {
            let mut r = PushService::rng(42);
            (0..20).filter_map(|_| p.pick(&mut r)).collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().all(|(i, _)| *i < 5));
        assert!(a.iter().any(|(_, d)| *d) && a.iter().any(|(_, d)| !*d));
    }
}
